// OneShotRunner: runs a fresh probe for one (check, target) once, now, outside the schedule.
// `probed probe` and GET /probe share it. Its results go only to the caller's callback: never
// to the metrics, alert or status sinks, so an ad-hoc run cannot move a check's series or
// alerts. Loop thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>

#include "config/config.h"
#include "probes/probe.h"

namespace probed::daemon {

class OneShotRunner {
 public:
  using DoneFn = std::function<void(probes::Result)>;
  explicit OneShotRunner(probes::Services& services) : services_(services) {}
  ~OneShotRunner() { stop(); }
  OneShotRunner(const OneShotRunner&) = delete;
  OneShotRunner& operator=(const OneShotRunner&) = delete;

  // `check` must live in `cfg`, which the run keeps alive (a reload may replace the config
  // while the run is in flight). done runs on the loop, exactly once unless stop() comes first.
  void start(std::shared_ptr<const config::Config> cfg, const config::CheckConfig& check,
             config::Target target, base::Duration timeout, bool trace, DoneFn done);
  size_t inflight() const { return jobs_.size(); }
  // Abandons every run still going; their done callbacks never run (shutdown).
  void stop();

 private:
  struct Job {
    std::shared_ptr<const config::Config> cfg;
    config::Target target;
    std::unique_ptr<probes::Probe> probe;
    std::unique_ptr<probes::Run> run;
  };
  probes::Services& services_;
  std::map<uint64_t, std::unique_ptr<Job>> jobs_;
  uint64_t next_id_ = 0;
};

}  // namespace probed::daemon
