// Notifier: at-least-once delivery of alert notifications to receivers (SPEC §5). One lane per
// (receiver, URL): a bounded FIFO (the oldest is dropped when full, counted), one request in
// flight, success only on 2xx, retries with exponential backoff and jitter on network errors,
// 5xx, 408 and 429 (Retry-After honoured), no retry on other answers (counted as failed). Every
// lane is independent, so a slow or dead receiver delays nobody else. Loop thread only.
#pragma once

#include <nlohmann/json.hpp>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "config/config.h"
#include "daemon/io/http_post.h"
#include "exporters/alerts/receiver.h"
#include "exporters/metrics/daemon_metrics.h"

namespace probed::exporters::alerts {

struct Backoff {
  base::Duration initial = std::chrono::seconds(1);
  base::Duration max = std::chrono::minutes(5);
  base::Duration max_retry_after = std::chrono::minutes(10);
};

// Where the engine sends transitions: the Notifier, or a recorder in unit tests.
class AlertSink {
 public:
  virtual ~AlertSink() = default;
  // Queues `a` for each named receiver. resend: a repeat of a firing or recently resolved
  // alert, wanted only by state-based receivers (Alertmanager).
  virtual void notify(const std::vector<std::string>& receivers, const Alert& a,
                      bool resend = false) = 0;
};

class Notifier : public AlertSink {
 public:
  Notifier(io::Loop& loop, io::CurlMulti& curl, io::AresPool& ares, DaemonMetrics& metrics,
           Backoff backoff = {});
  ~Notifier() override;
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  // Builds lanes for the config's receivers; queues of receivers that stay are kept.
  void apply(const config::Config& cfg, const std::string& generator_url);
  // AlertSink: every URL of each named receiver gets it.
  void notify(const std::vector<std::string>& receivers, const Alert& a,
              bool resend = false) override;

  size_t pending() const;
  // The spool: what is queued, without secrets (URLs are kept as hashes).
  nlohmann::json to_json() const;
  // Re-queues a spool written by to_json(); call after apply(). Unknown lanes are dropped.
  void restore(const nlohmann::json& spool);
  // Called after every change of a queue (the state file is written then).
  void on_change(std::function<void()> fn) { changed_ = std::move(fn); }
  // Shutdown: one more attempt for everything queued now (no new backoff), then done() once
  // every lane is idle or `bound` passed. What is left stays in the spool.
  void flush(base::Duration bound, std::function<void()> done);

 private:
  struct Lane;
  void enqueue(Lane& lane, const Alert& a);
  void pump(Lane& lane);
  void on_answer(Lane& lane, io::HttpAnswer ans);
  void retry_later(Lane& lane, const io::HttpAnswer& ans, size_t n);
  void pop(Lane& lane, size_t n);
  base::Duration backoff_delay(int failures);
  void check_flushed();
  void changed();

  io::Loop& loop_;
  io::CurlMulti& curl_;
  io::AresPool& ares_;
  DaemonMetrics& metrics_;
  Backoff backoff_;
  std::map<std::string, std::unique_ptr<Lane>> lanes_;  // key: receiver '\n' url
  std::string generator_url_;
  base::Duration resend_interval_ = std::chrono::minutes(1);
  std::function<void()> changed_;
  std::mt19937_64 rng_{std::random_device{}()};
  bool flushing_ = false;
  std::function<void()> flushed_;
  io::TimerId flush_timer_ = 0;
};

}  // namespace probed::exporters::alerts
