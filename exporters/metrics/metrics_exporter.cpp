#include "exporters/metrics/metrics_exporter.h"

#include <prometheus/text_serializer.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <limits>

#include "daemon/base/redact.h"
#include "exporters/metrics/metric_help.h"
#include "probes/metric_names.h"

namespace probed::exporters {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

MetricFamily family(std::string_view name, std::string help, MetricType type) {
  MetricFamily f;
  f.name = std::string(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

// The series labels plus extra ones, kept sorted by name (as Prometheus shows them).
std::vector<ClientMetric::Label> with_extra(const std::vector<ClientMetric::Label>& base,
                                            const std::vector<ClientMetric::Label>& extra) {
  std::vector<ClientMetric::Label> out;
  out.reserve(base.size() + extra.size());
  out = base;
  for (const auto& l : extra) {
    auto at = std::lower_bound(out.begin(), out.end(), l,
                               [](const auto& a, const auto& b) { return a.name < b.name; });
    out.insert(at, l);
  }
  return out;
}

}  // namespace

config::Labels series_labels(const config::CheckConfig& check, const config::Target& target,
                             const std::string& location) {
  std::map<std::string, std::string> m;
  for (const auto& [k, v] : check.labels) m[k] = base::redact(v);
  for (const auto& [k, v] : target.labels) m[k] = base::redact(v);
  m[std::string(names::kCheck)] = check.name;
  m[std::string(names::kType)] = check.type;
  // A target with a secret in it (a token in a query string) is masked in the label.
  m[std::string(names::kTarget)] = base::redact(target.address);
  if (!location.empty()) m[std::string(names::kLocation)] = location;
  return config::Labels(m.begin(), m.end());
}

void write_families(std::ostream& out, const std::vector<MetricFamily>& families) {
  prometheus::TextSerializer().Serialize(out, families);
}

const std::vector<double>& MetricsExporter::latency_buckets() {
  static const std::vector<double> b = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                        1,     2.5,  5,     10,   20,  30};
  return b;
}

MetricsExporter::MetricsExporter(std::string location) : location_(std::move(location)) {}

MetricsExporter::Slot& MetricsExporter::slot_for(const config::CheckConfig& check,
                                                 const config::Target& target) {
  CheckKey key{check.name, target.address};
  auto it = slots_.find(key);
  if (it != slots_.end()) return it->second;
  Slot s;
  auto labels = std::make_shared<Labels>();
  for (auto& [k, v] : series_labels(check, target, location_)) labels->push_back({k, v});
  s.labels = std::move(labels);
  s.gauges = std::make_shared<const std::vector<Gauge>>();
  s.failures.assign(probes::all_failure_reasons().size(), 0);
  s.buckets.assign(latency_buckets().size() + 1, 0);
  return slots_.emplace(std::move(key), std::move(s)).first->second;
}

void MetricsExporter::on_added(const config::CheckConfig& check, const config::Target& target) {
  std::lock_guard lock(mu_);
  slot_for(check, target);
}

void MetricsExporter::on_result(const config::CheckConfig& check, const config::Target& target,
                                const probes::Result& r) {
  // Build the gauges outside the lock; the HTTP threads only wait for the swap.
  std::vector<Gauge> gauges = result_gauges(check, r);
  double secs = base::to_seconds(r.duration);
  const auto& bounds = latency_buckets();
  size_t bucket = static_cast<size_t>(std::lower_bound(bounds.begin(), bounds.end(), secs) - bounds.begin());
  std::lock_guard lock(mu_);
  Slot& s = slot_for(check, target);
  s.has_run = true;
  s.success = r.success ? 1 : 0;
  s.duration = secs;
  s.last_run = base::unix_now();
  s.runs += 1;
  if (!r.success) {
    const auto& all = probes::all_failure_reasons();
    auto it = std::find(all.begin(), all.end(), r.reason);
    if (it != all.end()) s.failures[static_cast<size_t>(it - all.begin())] += 1;
  }
  s.buckets[bucket] += 1;
  s.count += 1;
  s.sum += secs;
  s.gauges = std::make_shared<const std::vector<Gauge>>(std::move(gauges));
}

void MetricsExporter::on_removed(const CheckKey& key) {
  std::lock_guard lock(mu_);
  slots_.erase(key);
}

MetricsExporter::Snapshot MetricsExporter::snapshot() const {
  std::lock_guard lock(mu_);
  Snapshot snap;
  snap.reserve(slots_.size());
  for (const auto& [key, s] : slots_) snap.push_back(s);
  return snap;
}

MetricFamily MetricsExporter::build_fixed(Range slots, Fixed which) {
  using names::kProbeDuration, names::kProbeFailures, names::kProbeLastRun,
      names::kProbeLatency, names::kProbeRuns, names::kProbeSuccess;
  MetricFamily f;
  switch (which) {
    case Fixed::Success: f = family(kProbeSuccess, std::string(gauge_help(kProbeSuccess)), MetricType::Gauge); break;
    case Fixed::Duration: f = family(kProbeDuration, std::string(gauge_help(kProbeDuration)), MetricType::Gauge); break;
    case Fixed::LastRun: f = family(kProbeLastRun, std::string(gauge_help(kProbeLastRun)), MetricType::Gauge); break;
    case Fixed::Runs: f = family(kProbeRuns, "Completed runs of each check and target", MetricType::Counter); break;
    case Fixed::Failures: f = family(kProbeFailures, "Failed runs of each check and target, by reason", MetricType::Counter); break;
    case Fixed::Latency: f = family(kProbeLatency, "Duration of every run, in seconds", MetricType::Histogram); break;
  }
  const auto& reasons = probes::all_failure_reasons();
  const auto& bounds = latency_buckets();
  for (auto it = slots.first; it != slots.second; ++it) {
    const Slot& s = *it;
    ClientMetric m;
    m.label = *s.labels;
    switch (which) {
      case Fixed::Success:
      case Fixed::Duration:
      case Fixed::LastRun:
        if (!s.has_run) continue;
        m.gauge.value = which == Fixed::Success ? s.success : which == Fixed::Duration ? s.duration : s.last_run;
        break;
      case Fixed::Runs:
        m.counter.value = s.runs;
        break;
      case Fixed::Failures:
        for (size_t i = 0; i < reasons.size(); ++i) {
          ClientMetric r;
          r.label = with_extra(*s.labels, {{std::string(names::kReason), std::string(probes::to_label(reasons[i]))}});
          r.counter.value = s.failures[i];
          f.metric.push_back(std::move(r));
        }
        continue;
      case Fixed::Latency: {
        uint64_t cumulative = 0;
        for (size_t i = 0; i < s.buckets.size(); ++i) {
          cumulative += s.buckets[i];
          double bound = i < bounds.size() ? bounds[i] : std::numeric_limits<double>::infinity();
          m.histogram.bucket.push_back({cumulative, bound});
        }
        m.histogram.sample_count = s.count;
        m.histogram.sample_sum = s.sum;
        break;
      }
    }
    f.metric.push_back(std::move(m));
  }
  return f;
}

std::vector<std::string_view> MetricsExporter::gauge_names(const Snapshot& snap) {
  std::vector<std::string_view> out;
  for (const auto& s : snap) {
    for (const auto& g : *s.gauges) {
      if (std::find(out.begin(), out.end(), g.name) == out.end()) out.push_back(g.name);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

MetricFamily MetricsExporter::build_gauges(Range slots, std::string_view name) {
  MetricFamily f = family(name, std::string(gauge_help(name)), MetricType::Gauge);
  for (auto it = slots.first; it != slots.second; ++it) {
    for (const auto& g : *it->gauges) {
      if (g.name != name) continue;
      ClientMetric m;
      m.label = with_extra(*it->labels, g.extra);
      m.gauge.value = g.value;
      f.metric.push_back(std::move(m));
    }
  }
  return f;
}

namespace {

constexpr std::array kFixedFamilies = {0, 1, 2, 3, 4, 5};
// Slots per serialized piece: at 15 series per slot (probe_failures_total) a piece holds
// 7,500 series, a few MB at most, however many checks there are.
constexpr size_t kSlotsPerPiece = 500;

// Passes everything to another streambuf except the first line: a family's "# TYPE" line,
// which only its first piece may carry.
class SkipFirstLine : public std::streambuf {
 public:
  explicit SkipFirstLine(std::streambuf* to) : to_(to) {}

 protected:
  int_type overflow(int_type ch) override {
    if (traits_type::eq_int_type(ch, traits_type::eof())) return traits_type::not_eof(ch);
    if (skipping_) {
      skipping_ = traits_type::to_char_type(ch) != '\n';
      return ch;
    }
    return to_->sputc(traits_type::to_char_type(ch));
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    std::streamsize from = 0;
    if (skipping_) {
      const void* nl = std::memchr(s, '\n', static_cast<size_t>(n));
      if (nl == nullptr) return n;
      skipping_ = false;
      from = static_cast<const char*>(nl) - s + 1;
    }
    return from + to_->sputn(s + from, n - from);
  }

 private:
  std::streambuf* to_;
  bool skipping_ = true;
};

// Serializes a family piece straight into `out`. Pieces after the first have no # HELP (their
// help is cleared) and no # TYPE line, so the family appears once, as the text format requires.
void write_piece(std::ostream& out, MetricFamily&& f, bool first) {
  if (f.metric.empty()) return;
  if (!first) f.help.clear();
  std::vector<MetricFamily> one;
  one.push_back(std::move(f));  // moved, not copied: a piece holds thousands of series
  if (first) return write_families(out, one);
  SkipFirstLine skip(out.rdbuf());
  std::ostream rest(&skip);
  write_families(rest, one);
}

}  // namespace

void MetricsExporter::write(std::ostream& out) const {
  Snapshot snap = snapshot();
  auto pieces = [&](const std::function<MetricFamily(Range)>& build) {
    bool first = true;
    for (size_t i = 0; i < snap.size(); i += kSlotsPerPiece) {
      auto end = snap.begin() + static_cast<std::ptrdiff_t>(std::min(snap.size(), i + kSlotsPerPiece));
      MetricFamily f = build({snap.begin() + static_cast<std::ptrdiff_t>(i), end});
      if (f.metric.empty()) continue;
      write_piece(out, std::move(f), first);
      first = false;
    }
  };
  for (int i : kFixedFamilies) pieces([&](Range r) { return build_fixed(r, static_cast<Fixed>(i)); });
  for (auto name : gauge_names(snap)) pieces([&](Range r) { return build_gauges(r, name); });
}

std::vector<MetricFamily> MetricsExporter::collect() const {
  Snapshot snap = snapshot();
  Range all{snap.begin(), snap.end()};
  std::vector<MetricFamily> out;
  for (int i : kFixedFamilies) {
    auto f = build_fixed(all, static_cast<Fixed>(i));
    if (!f.metric.empty()) out.push_back(std::move(f));
  }
  for (auto name : gauge_names(snap)) out.push_back(build_gauges(all, name));
  return out;
}

}  // namespace probed::exporters
