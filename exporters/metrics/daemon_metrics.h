// DaemonMetrics: the probed_* series of SPEC §3 about the daemon itself (build info, checks,
// in-flight probes, schedule lag, skipped runs, reload status). Updated on the loop thread;
// read by HTTP threads through the thread-safe registry.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <map>
#include <string>

#include "daemon/base/clock.h"

namespace probed::exporters {

class DaemonMetrics {
 public:
  explicit DaemonMetrics(prometheus::Registry& registry);
  void set_checks(size_t n) { checks_.Set(static_cast<double>(n)); }
  void set_inflight(size_t n) { inflight_.Set(static_cast<double>(n)); }
  void observe_lag(base::Duration lag) { lag_.Observe(base::to_seconds(lag)); }
  void count_skip(const std::string& check);
  void forget_check(const std::string& check);
  void reload_result(bool ok);
  // probed_notifications_total{receiver,result} (sent, failed, dropped; all three pre-created)
  // and probed_notification_queue_length{receiver}.
  void add_receiver(const std::string& receiver);
  void count_notifications(const std::string& receiver, std::string_view result, size_t n);
  void set_queue_length(const std::string& receiver, size_t n);
  void forget_receiver(const std::string& receiver);

 private:
  prometheus::Family<prometheus::Counter>& skipped_;
  prometheus::Gauge& checks_;
  prometheus::Gauge& inflight_;
  prometheus::Histogram& lag_;
  prometheus::Gauge& reload_ok_;
  prometheus::Gauge& reload_ts_;
  std::map<std::string, prometheus::Counter*> skipped_by_check_;
  prometheus::Family<prometheus::Counter>& notifications_;
  prometheus::Family<prometheus::Gauge>& queue_length_;
  struct ReceiverSeries {
    prometheus::Counter* sent;
    prometheus::Counter* failed;
    prometheus::Counter* dropped;
    prometheus::Gauge* queue;
  };
  std::map<std::string, ReceiverSeries, std::less<>> receivers_;
};

}  // namespace probed::exporters
