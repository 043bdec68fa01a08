#include "exporters/metrics/result_gauges.h"

#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <limits>

#include "daemon/base/redact.h"
#include "exporters/metrics/metric_help.h"
#include "probes/metric_names.h"

namespace probed::exporters {

std::vector<ResultGauge> result_gauges(const config::CheckConfig& check, const probes::Result& r) {
  std::vector<ResultGauge> gauges;
  gauges.reserve(r.samples.size() + r.phases.size() + 3);
  for (const auto& sample : r.samples) {
    std::vector<prometheus::ClientMetric::Label> extra;
    for (const auto& [k, v] : sample.labels) extra.push_back({k, base::redact(v)});
    gauges.push_back({sample.name, std::move(extra), sample.value});
  }
  // http and journeys keep blackbox's name; the other types get probed's generic one.
  const bool http = check.type == "http" || check.type == "journey";
  for (const auto& p : r.phases) {
    gauges.push_back({http ? names::kHttpDuration : names::kPhaseDuration,
                      {{std::string(names::kPhase), std::string(p.phase)}},
                      base::to_seconds(p.duration)});
  }
  if (!r.chain.empty() && check.type != "cert_file") {
    // Exported even when verification failed: that is when ops need them most (SPEC §3).
    double earliest = std::numeric_limits<double>::max();
    for (const auto& c : r.chain) earliest = std::min(earliest, static_cast<double>(c.not_after));
    gauges.push_back({names::kSslEarliestExpiry, {}, earliest});
    gauges.push_back({names::kSslLastChainExpiry, {}, earliest});
    const auto& leaf = r.chain.front();
    gauges.push_back({names::kSslLastChainInfo,
                      {{"fingerprint_sha256", leaf.fingerprint_sha256},
                       {"issuer", leaf.issuer},
                       {"serialnumber", leaf.serial},
                       {"subject", leaf.subject},
                       {"subjectalternative", leaf.sans}},
                      1});
  }
  return gauges;
}

namespace {

prometheus::MetricFamily gauge_family(std::string_view name) {
  prometheus::MetricFamily f;
  f.name = std::string(name);
  f.help = std::string(gauge_help(name));
  f.type = prometheus::MetricType::Gauge;
  return f;
}

void add(prometheus::MetricFamily& f, std::vector<prometheus::ClientMetric::Label> labels, double v) {
  prometheus::ClientMetric m;
  m.label = std::move(labels);
  m.gauge.value = v;
  f.metric.push_back(std::move(m));
}

}  // namespace

void write_probe_answer(std::ostream& out, const config::CheckConfig& check, const probes::Result& r) {
  std::vector<prometheus::MetricFamily> families;
  families.push_back(gauge_family(names::kProbeSuccess));
  add(families.back(), {}, r.success ? 1 : 0);
  families.push_back(gauge_family(names::kProbeDuration));
  add(families.back(), {}, base::to_seconds(r.duration));
  // One family per name, in the order the run reported them (a family must not repeat).
  for (auto& g : result_gauges(check, r)) {
    auto it = std::find_if(families.begin(), families.end(),
                           [&](const auto& f) { return f.name == g.name; });
    if (it == families.end()) {
      families.push_back(gauge_family(g.name));
      it = families.end() - 1;
    }
    add(*it, std::move(g.extra), g.value);
  }
  prometheus::TextSerializer().Serialize(out, families);
}

}  // namespace probed::exporters
