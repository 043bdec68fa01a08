// GET /probe: blackbox_exporter's pull mode (SPEC §4). The HTTP thread checks everything it can
// without the loop (enabled, module, allowed_targets, the target's syntax), so a denied target
// is answered before anything connects; only an allowed run is posted to the loop, where a
// fresh probe runs once (OneShotRunner), and the HTTP thread waits for it on a future.
//
// Bounded: at most kMaxConcurrent runs at once (503 beyond), separate from max_inflight so a
// scrape storm cannot starve the schedule, and civetweb keeps threads free for /metrics.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "config/config.h"
#include "daemon/http_server.h"
#include "daemon/io/loop.h"
#include "daemon/one_shot.h"

namespace probed::daemon {

// The run's timeout: the check's, lowered to the scrape timeout minus 0.5 s when Prometheus
// sent one (half the scrape timeout when that is 0.5 s or less).
base::Duration probe_timeout(base::Duration check_timeout, std::optional<double> scrape_timeout_s);

class ProbeEndpoint {
 public:
  static constexpr int kMaxConcurrent = 4;

  ProbeEndpoint(io::Loop& loop, OneShotRunner& runner) : loop_(loop), runner_(runner) {}
  // Loop thread (start-up and every accepted reload).
  void set_config(std::shared_ptr<const config::Config> cfg);
  // HTTP threads.
  HttpAnswer handle(const ProbeRequest& req);

 private:
  std::optional<HttpAnswer> refuse(const config::Config& cfg, const ProbeRequest& req) const;
  HttpAnswer run(std::shared_ptr<const config::Config> cfg, const config::CheckConfig& check,
                 const ProbeRequest& req);

  io::Loop& loop_;
  OneShotRunner& runner_;  // used on the loop only
  mutable std::mutex mu_;
  std::shared_ptr<const config::Config> cfg_;
  std::atomic<int> running_{0};
};

}  // namespace probed::daemon
