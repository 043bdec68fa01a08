// MetricsExporter: the ResultSink that keeps the per-check series of SPEC §3 and writes them
// in the Prometheus text format (text_format.h: labels escaped once per slot), one family at a
// time, straight into the scrape's socket.
//
// Why not prometheus-cpp Families: measured at 10,000 checks they hold a std::map of labels
// per series (about 20 KB per check, 195 MB before the first scrape), every run copied label
// maps, and a scrape built a 50 MB string. Here each slot stores its labels once and its
// values as plain numbers (about 1.5 KB per check), and a scrape holds 64 KB of text at a time.
//
// Every reason of probe_failures_total exists at 0 from the slot's creation (cloudprober);
// probe_success and the other last-run gauges appear with the first result (blackbox). A
// removed (check, target) loses all its series. on_* run on the loop thread, write() on HTTP
// threads; one mutex, held only while the slots' numbers are copied.
#pragma once

#include <prometheus/metric_family.h>

#include <array>
#include <map>
#include <memory>
#include <mutex>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "exporters/metrics/result_gauges.h"
#include "exporters/metrics/text_format.h"
#include "exporters/result_sink.h"

namespace probed::exporters {

class MetricsExporter : public ResultSink {
 public:
  explicit MetricsExporter(std::string location);

  // Creates a slot's counters before its first run, so rate() works from the first scrape.
  void on_added(const config::CheckConfig& check, const config::Target& target);
  // ResultSink
  void on_result(const config::CheckConfig& check, const config::Target& target,
                 const probes::Result& result) override;
  void on_removed(const CheckKey& key) override;

  // The text format of every family, streamed.
  void write(std::ostream& out) const;

  // The latency histogram buckets: 5 ms to 30 s.
  static const std::vector<double>& latency_buckets();

 private:
  using Gauge = ResultGauge;
  struct Slot {
    std::shared_ptr<const RenderedLabels> labels;  // the series labels, rendered once; immutable
    bool has_run = false;
    double success = 0, duration = 0, last_run = 0, runs = 0;
    std::vector<double> failures;       // by reason, in all_failure_reasons() order
    std::vector<uint64_t> buckets;      // per bucket (not cumulative), +Inf last
    uint64_t count = 0;
    double sum = 0;
    std::shared_ptr<const std::vector<Gauge>> gauges;  // what the last run reported
  };
  using Snapshot = std::vector<Slot>;
  enum class Fixed { Success, Duration, LastRun, Runs, Failures, Latency };

  Slot& slot_for(const config::CheckConfig& check, const config::Target& target);
  // A copy of every slot's numbers (labels and gauges shared, not copied), taken under the
  // lock in about a millisecond at 10,000 checks; families are built from it outside.
  Snapshot snapshot() const;
  static void write_fixed(TextWriter& w, const Snapshot& snap, Fixed which);
  static void write_gauges(TextWriter& w, const Snapshot& snap, std::string_view name);
  static std::vector<std::string_view> gauge_names(const Snapshot& snap);

  std::string location_;
  mutable std::mutex mu_;
  CheckKeyMap<Slot> slots_;
};

// Renders families to text with prometheus-cpp's serializer.
void write_families(std::ostream& out, const std::vector<prometheus::MetricFamily>& families);

}  // namespace probed::exporters
