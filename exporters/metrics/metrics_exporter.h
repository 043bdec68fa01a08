// MetricsExporter: the ResultSink that turns Results into the per-check series of SPEC §3 in a
// prometheus-cpp Registry. Every reason of probe_failures_total is created at 0 with the slot
// (cloudprober), and a removed (check, target) loses all its series (Family::Remove).
// on_result/on_removed run on the loop thread; the registry is read by HTTP threads
// (prometheus-cpp families and metrics are thread-safe).
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "exporters/result_sink.h"

namespace probed::exporters {

class MetricsExporter : public ResultSink {
 public:
  MetricsExporter(prometheus::Registry& registry, std::string location);

  // Creates a slot's series (success 0, counters and every reason at 0) before its first run,
  // so rate() and absent() work from the first scrape.
  void on_added(const config::CheckConfig& check, const config::Target& target);
  // ResultSink
  void on_result(const config::CheckConfig& check, const config::Target& target,
                 const probes::Result& result) override;
  void on_removed(const CheckKey& key) override;


  // The latency histogram buckets: 5 ms to 30 s.
  static const std::vector<double>& latency_buckets();

 private:
  using GaugeFamily = prometheus::Family<prometheus::Gauge>;
  struct Slot {
    prometheus::Labels labels;
    prometheus::Gauge* success = nullptr;
    prometheus::Gauge* duration = nullptr;
    prometheus::Gauge* last_run = nullptr;
    prometheus::Counter* runs = nullptr;
    std::map<std::string, prometheus::Counter*> failures;  // by reason
    prometheus::Histogram* latency = nullptr;
    // Per-result gauges (samples, phases, ssl): dropped when a run no longer reports them.
    std::map<std::pair<GaugeFamily*, prometheus::Labels>, prometheus::Gauge*> dynamic;
  };
  Slot& slot_for(const config::CheckConfig& check, const config::Target& target);
  GaugeFamily& gauge_family(std::string_view name);
  void remove_slot(Slot& slot);

  prometheus::Registry& registry_;
  std::string location_;
  prometheus::Family<prometheus::Gauge>& success_;
  prometheus::Family<prometheus::Gauge>& duration_;
  prometheus::Family<prometheus::Gauge>& last_run_;
  prometheus::Family<prometheus::Counter>& runs_;
  prometheus::Family<prometheus::Counter>& failures_;
  prometheus::Family<prometheus::Histogram>& latency_;
  std::map<std::string, GaugeFamily*, std::less<>> gauges_;
  std::map<CheckKey, Slot> slots_;
};

}  // namespace probed::exporters
