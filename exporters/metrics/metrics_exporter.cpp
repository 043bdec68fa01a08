#include "exporters/metrics/metrics_exporter.h"

#include <prometheus/text_serializer.h>

#include <algorithm>

#include "daemon/base/redact.h"
#include "exporters/metrics/metric_help.h"
#include "probes/metric_names.h"

namespace probed::exporters {

using prometheus::MetricFamily;
using prometheus::MetricType;

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
  const CheckKeyRef key{check.name, target.address};
  auto it = slots_.find(key);
  if (it != slots_.end()) return it->second;
  Slot s;
  auto labels = std::make_shared<RenderedLabels>();
  for (auto& [k, v] : series_labels(check, target, location_)) labels->push_back(render_label(k, v));
  s.labels = std::move(labels);
  s.gauges = std::make_shared<const std::vector<Gauge>>();
  s.failures.assign(probes::all_failure_reasons().size(), 0);
  s.buckets.assign(latency_buckets().size() + 1, 0);
  return slots_.emplace(key.to_key(), std::move(s)).first->second;
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

namespace {

constexpr std::array kFixedFamilies = {0, 1, 2, 3, 4, 5};

// Rendered once: the reason label of each probe_failures_total series, the le label of each
// latency bucket.
const RenderedLabels& reason_labels() {
  static const RenderedLabels r = [] {
    RenderedLabels out;
    for (auto reason : probes::all_failure_reasons()) {
      out.push_back(render_label(names::kReason, probes::to_label(reason)));
    }
    return out;
  }();
  return r;
}

const RenderedLabels& le_labels() {
  static const RenderedLabels r = [] {
    RenderedLabels out;
    for (double b : MetricsExporter::latency_buckets()) {
      std::string text;
      append_number(text, b);
      out.push_back(render_label("le", text));
    }
    out.push_back(render_label("le", "+Inf"));
    return out;
  }();
  return r;
}

}  // namespace

void MetricsExporter::write_fixed(TextWriter& w, const Snapshot& snap, Fixed which) {
  using names::kProbeDuration, names::kProbeFailures, names::kProbeLastRun,
      names::kProbeLatency, names::kProbeRuns, names::kProbeSuccess;
  std::string_view name;
  std::string_view help;
  MetricType type = MetricType::Gauge;
  switch (which) {
    case Fixed::Success: name = kProbeSuccess; break;
    case Fixed::Duration: name = kProbeDuration; break;
    case Fixed::LastRun: name = kProbeLastRun; break;
    case Fixed::Runs: name = kProbeRuns, help = "Completed runs of each check and target", type = MetricType::Counter; break;
    case Fixed::Failures: name = kProbeFailures, help = "Failed runs of each check and target, by reason", type = MetricType::Counter; break;
    case Fixed::Latency: name = kProbeLatency, help = "Duration of every run, in seconds", type = MetricType::Histogram; break;
  }
  // The last-run gauges exist only for slots that ran; a family without series is left out,
  // header included.
  const bool last_run_gauge = type == MetricType::Gauge;
  if (last_run_gauge) help = gauge_help(name);
  const bool any = last_run_gauge ? std::any_of(snap.begin(), snap.end(), [](const Slot& s) { return s.has_run; })
                                  : !snap.empty();
  if (!any) return;
  w.family(name, help, type);
  const auto& reasons = reason_labels();
  const auto& les = le_labels();
  for (const Slot& s : snap) {
    const RenderedLabels& labels = *s.labels;
    switch (which) {
      case Fixed::Success:
      case Fixed::Duration:
      case Fixed::LastRun:
        if (s.has_run) {
          w.sample(name, "", labels, {},
                   which == Fixed::Success ? s.success : which == Fixed::Duration ? s.duration : s.last_run);
        }
        break;
      case Fixed::Runs:
        w.sample(name, "", labels, {}, s.runs);
        break;
      case Fixed::Failures:
        for (size_t i = 0; i < reasons.size(); ++i) w.sample(name, "", labels, {&reasons[i], 1}, s.failures[i]);
        break;
      case Fixed::Latency: {
        w.sample(name, "_count", labels, {}, static_cast<double>(s.count));
        w.sample(name, "_sum", labels, {}, s.sum);
        uint64_t cumulative = 0;
        for (size_t i = 0; i < s.buckets.size(); ++i) {
          cumulative += s.buckets[i];
          w.sample(name, "_bucket", labels, {&les[i], 1}, static_cast<double>(cumulative));
        }
        break;
      }
    }
  }
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

void MetricsExporter::write_gauges(TextWriter& w, const Snapshot& snap, std::string_view name) {
  w.family(name, gauge_help(name), MetricType::Gauge);
  RenderedLabels extra;
  for (const Slot& s : snap) {
    for (const auto& g : *s.gauges) {
      if (g.name != name) continue;
      extra.clear();
      for (const auto& l : g.extra) extra.push_back(render_label(l.name, l.value));
      std::sort(extra.begin(), extra.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
      w.sample(name, "", *s.labels, extra, g.value);
    }
  }
}

void MetricsExporter::write(std::ostream& out) const {
  Snapshot snap = snapshot();
  TextWriter w(out);
  for (int i : kFixedFamilies) write_fixed(w, snap, static_cast<Fixed>(i));
  for (auto name : gauge_names(snap)) write_gauges(w, snap, name);
}

}  // namespace probed::exporters
