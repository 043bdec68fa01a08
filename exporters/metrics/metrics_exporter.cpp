#include "exporters/metrics/metrics_exporter.h"

#include <algorithm>
#include <limits>

#include "daemon/base/redact.h"
#include "exporters/metrics/metric_help.h"
#include "probes/metric_names.h"

namespace probed::exporters {

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

const std::vector<double>& MetricsExporter::latency_buckets() {
  static const std::vector<double> b = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                        1,     2.5,  5,     10,   20,  30};
  return b;
}

MetricsExporter::MetricsExporter(prometheus::Registry& registry, std::string location)
    : registry_(registry),
      location_(std::move(location)),
      success_(prometheus::BuildGauge()
                   .Name(std::string(names::kProbeSuccess))
                   .Help(std::string(gauge_help(names::kProbeSuccess)))
                   .Register(registry)),
      duration_(prometheus::BuildGauge()
                    .Name(std::string(names::kProbeDuration))
                    .Help(std::string(gauge_help(names::kProbeDuration)))
                    .Register(registry)),
      last_run_(prometheus::BuildGauge()
                    .Name(std::string(names::kProbeLastRun))
                    .Help(std::string(gauge_help(names::kProbeLastRun)))
                    .Register(registry)),
      runs_(prometheus::BuildCounter()
                .Name(std::string(names::kProbeRuns))
                .Help("Completed runs of each check and target")
                .Register(registry)),
      failures_(prometheus::BuildCounter()
                    .Name(std::string(names::kProbeFailures))
                    .Help("Failed runs of each check and target, by reason")
                    .Register(registry)),
      latency_(prometheus::BuildHistogram()
                   .Name(std::string(names::kProbeLatency))
                   .Help("Duration of every run, in seconds")
                   .Register(registry)) {}

MetricsExporter::GaugeFamily& MetricsExporter::gauge_family(std::string_view name) {
  auto it = gauges_.find(name);
  if (it != gauges_.end()) return *it->second;
  auto& fam = prometheus::BuildGauge()
                  .Name(std::string(name))
                  .Help(std::string(gauge_help(name)))
                  .Register(registry_);
  gauges_.emplace(std::string(name), &fam);
  return fam;
}

MetricsExporter::Slot& MetricsExporter::slot_for(const config::CheckConfig& check,
                                                 const config::Target& target) {
  CheckKey key{check.name, target.address};
  auto it = slots_.find(key);
  if (it != slots_.end()) return it->second;
  Slot s;
  for (const auto& [k, v] : series_labels(check, target, location_)) s.labels[k] = v;
  // probe_success and the other last-run gauges appear with the first result (as in
  // blackbox): a 0 before any run would fire `probe_success == 0` alerts at start-up.
  s.runs = &runs_.Add(s.labels);
  for (auto reason : probes::all_failure_reasons()) {
    auto l = s.labels;
    l[std::string(names::kReason)] = std::string(probes::to_label(reason));
    s.failures[std::string(probes::to_label(reason))] = &failures_.Add(l);
  }
  s.latency = &latency_.Add(s.labels, latency_buckets());
  return slots_.emplace(key, std::move(s)).first->second;
}

void MetricsExporter::on_added(const config::CheckConfig& check, const config::Target& target) {
  slot_for(check, target);
}

void MetricsExporter::on_result(const config::CheckConfig& check, const config::Target& target,
                                const probes::Result& r) {
  Slot& s = slot_for(check, target);
  if (s.success == nullptr) {
    s.success = &success_.Add(s.labels);
    s.duration = &duration_.Add(s.labels);
    s.last_run = &last_run_.Add(s.labels);
  }
  double secs = base::to_seconds(r.duration);
  s.success->Set(r.success ? 1 : 0);
  s.duration->Set(secs);
  s.last_run->Set(base::unix_now());
  s.runs->Increment();
  if (!r.success) s.failures[std::string(probes::to_label(r.reason))]->Increment();
  s.latency->Observe(secs);

  // The gauges this run reports; any the previous run reported but this one does not go away.
  std::map<std::pair<GaugeFamily*, prometheus::Labels>, double> now;
  auto put = [&](std::string_view name, const config::Labels& extra, double v) {
    auto l = s.labels;
    for (const auto& [k, val] : extra) l[k] = base::redact(val);
    now[{&gauge_family(name), std::move(l)}] = v;
  };
  for (const auto& sample : r.samples) put(sample.name, sample.labels, sample.value);
  if (check.type == "http" || check.type == "journey") {
    for (const auto& p : r.phases) {
      put(names::kHttpDuration, {{std::string(names::kPhase), std::string(p.phase)}},
          base::to_seconds(p.duration));
    }
  }
  if (!r.chain.empty() && check.type != "cert_file") {
    // Exported even when verification failed: that is when ops need them most (SPEC §3).
    double earliest = std::numeric_limits<double>::max();
    for (const auto& c : r.chain) earliest = std::min(earliest, static_cast<double>(c.not_after));
    put(names::kSslEarliestExpiry, {}, earliest);
    put(names::kSslLastChainExpiry, {}, earliest);
    const auto& leaf = r.chain.front();
    put(names::kSslLastChainInfo,
        {{"fingerprint_sha256", leaf.fingerprint_sha256},
         {"subject", leaf.subject},
         {"issuer", leaf.issuer},
         {"subjectalternative", leaf.sans},
         {"serialnumber", leaf.serial}},
        1);
  }
  for (auto it = s.dynamic.begin(); it != s.dynamic.end();) {
    if (now.count(it->first) == 0) {
      it->first.first->Remove(it->second);
      it = s.dynamic.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& [key, v] : now) {
    auto it = s.dynamic.find(key);
    if (it == s.dynamic.end()) {
      it = s.dynamic.emplace(key, &key.first->Add(key.second)).first;
    }
    it->second->Set(v);
  }
}

void MetricsExporter::remove_slot(Slot& s) {
  if (s.success != nullptr) {
    success_.Remove(s.success);
    duration_.Remove(s.duration);
    last_run_.Remove(s.last_run);
  }
  runs_.Remove(s.runs);
  for (auto& [reason, c] : s.failures) failures_.Remove(c);
  latency_.Remove(s.latency);
  for (auto& [key, g] : s.dynamic) key.first->Remove(g);
}

void MetricsExporter::on_removed(const CheckKey& key) {
  auto it = slots_.find(key);
  if (it == slots_.end()) return;
  remove_slot(it->second);
  slots_.erase(it);
}

}  // namespace probed::exporters
