#include "exporters/metrics/daemon_metrics.h"

#include "probes/metric_names.h"

#ifndef PROBED_VERSION
#define PROBED_VERSION "0.0.0"
#endif

namespace probed::exporters {
namespace {

prometheus::Gauge& single_gauge(prometheus::Registry& r, std::string_view name,
                                const std::string& help, const prometheus::Labels& labels = {}) {
  return prometheus::BuildGauge().Name(std::string(name)).Help(help).Register(r).Add(labels);
}

}  // namespace

DaemonMetrics::DaemonMetrics(prometheus::Registry& r)
    : skipped_(prometheus::BuildCounter()
                   .Name(std::string(names::kRunsSkipped))
                   .Help("Runs skipped because the previous run of the same target still ran")
                   .Register(r)),
      checks_(single_gauge(r, names::kChecks, "Configured (check, target) pairs this instance runs")),
      inflight_(single_gauge(r, names::kInflight, "Probes running now")),
      lag_(prometheus::BuildHistogram()
               .Name(std::string(names::kScheduleLag))
               .Help("Actual start minus planned start of each run, in seconds")
               .Register(r)
               .Add({}, prometheus::Histogram::BucketBoundaries{0.001, 0.0025, 0.005, 0.01, 0.025,
                                                                0.05, 0.1, 0.25, 0.5, 1, 2.5})),
      reload_ok_(single_gauge(r, names::kReloadSuccessful,
                              "Whether the last config load or reload succeeded")),
      reload_ts_(single_gauge(r, names::kReloadTimestamp,
                              "When the config was last loaded successfully, unix time")),
      notifications_(prometheus::BuildCounter()
                         .Name(std::string(names::kNotifications))
                         .Help("Alert notifications by receiver and result: sent (2xx), failed "
                               "(each failed delivery attempt), dropped (queue full or receiver "
                               "removed)")
                         .Register(r)),
      queue_length_(prometheus::BuildGauge()
                        .Name(std::string(names::kNotificationQueue))
                        .Help("Notifications waiting for delivery, per receiver")
                        .Register(r)) {
  single_gauge(r, names::kBuildInfo, "probed build information", {{"version", PROBED_VERSION}})
      .Set(1);
}

void DaemonMetrics::count_skip(const std::string& check) {
  auto it = skipped_by_check_.find(check);
  if (it == skipped_by_check_.end()) {
    it = skipped_by_check_.emplace(check, &skipped_.Add({{"check", check}})).first;
  }
  it->second->Increment();
}

void DaemonMetrics::forget_check(const std::string& check) {
  auto it = skipped_by_check_.find(check);
  if (it == skipped_by_check_.end()) return;
  skipped_.Remove(it->second);
  skipped_by_check_.erase(it);
}

void DaemonMetrics::reload_result(bool ok) {
  reload_ok_.Set(ok ? 1 : 0);
  if (ok) reload_ts_.Set(base::unix_now());
}

void DaemonMetrics::add_receiver(const std::string& receiver) {
  if (receivers_.count(receiver) != 0) return;
  receivers_[receiver] = {&notifications_.Add({{"receiver", receiver}, {"result", "sent"}}),
                          &notifications_.Add({{"receiver", receiver}, {"result", "failed"}}),
                          &notifications_.Add({{"receiver", receiver}, {"result", "dropped"}}),
                          &queue_length_.Add({{"receiver", receiver}})};
}

void DaemonMetrics::count_notifications(const std::string& receiver, std::string_view result,
                                        size_t n) {
  add_receiver(receiver);
  auto& s = receivers_[receiver];
  auto* c = result == "sent" ? s.sent : result == "failed" ? s.failed : s.dropped;
  c->Increment(static_cast<double>(n));
}

void DaemonMetrics::set_queue_length(const std::string& receiver, size_t n) {
  add_receiver(receiver);
  receivers_[receiver].queue->Set(static_cast<double>(n));
}

void DaemonMetrics::forget_receiver(const std::string& receiver) {
  auto it = receivers_.find(receiver);
  if (it == receivers_.end()) return;
  notifications_.Remove(it->second.sent);
  notifications_.Remove(it->second.failed);
  notifications_.Remove(it->second.dropped);
  queue_length_.Remove(it->second.queue);
  receivers_.erase(it);
}

}  // namespace probed::exporters
