// Scheduler: decides when each (check, target) slot runs. It owns timing (due times, the run
// deadline through probes::Run, max_inflight, skip-if-running, schedule lag); probes own only
// their I/O; sinks get every Result. Loop thread only.
//
// Spread: a slot's first run is at now + hash(check, target) % interval, so 10,000 checks with
// a 10 s interval start about one per millisecond instead of all at once. Example: interval
// 10s, hash % 10'000'000'000 ns = 3'141'592'653 -> first run 3.14 s after start, then every 10 s
// on that phase: 13.14 s, 23.14 s, ... Runs are planned on that grid, never from the last
// finish, so a slow run does not make the schedule drift. Intervals over a minute spread
// their first runs over the first minute only.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <vector>

#include "config/config.h"
#include "daemon/io/loop.h"
#include "exporters/metrics/daemon_metrics.h"
#include "exporters/result_sink.h"
#include "probes/probe.h"

namespace probed::daemon {

using exporters::CheckKey;

// FNV-1a, 64 bit: stable across runs and hosts (std::hash is not promised to be).
uint64_t stable_hash(std::string_view s);
// Whether this instance runs `check` under shard "i/n".
bool in_shard(std::string_view check, uint32_t index, uint32_t count);
// The offset of a slot's first run inside its interval.
base::Duration first_run_offset(const CheckKey& key, base::Duration interval);

class Scheduler {
 public:
  Scheduler(io::Loop& loop, probes::Services& services, exporters::DaemonMetrics& metrics);
  ~Scheduler();

  void add_sink(exporters::ResultSink* sink) { sinks_.push_back(sink); }
  // Another callback told of new slots before their first run (pre-creates series).
  using AddedFn = std::function<void(const config::CheckConfig&, const config::Target&)>;
  void on_added(AddedFn fn) { added_fns_.push_back(std::move(fn)); }

  // Starts or replaces the configuration. Slots whose (check, target) and settings did not
  // change keep their schedule and their Probe; others are created or removed.
  void apply(std::shared_ptr<const config::Config> cfg);
  // A targets_file was re-read: the check's targets become `targets`.
  void set_targets(const std::string& check, std::vector<config::Target> targets);
  // Graceful shutdown: starts no new run (timers cancelled, the max_inflight queue dropped) and
  // lets the running ones finish, by their probe or at their own deadline, so their Results
  // still reach the sinks. `done` runs on the loop once none is left, or after `bound` at the
  // latest: runs whose deadline is further away are abandoned then (a timeout may be minutes,
  // a shutdown should not be). Only the first call counts.
  void drain(base::Duration bound, std::function<void()> done);
  // Stops scheduling and abandons every running probe (immediate shutdown, destructor).
  void stop();

  size_t slot_count() const { return slots_.size(); }
  size_t inflight() const { return inflight_; }
  const config::Config* config() const { return config_.get(); }

 private:
  struct Slot {
    CheckKey key;
    const config::CheckConfig* check = nullptr;
    config::Target target;
    std::unique_ptr<probes::Probe> probe;
    base::TimePoint next_due;
    io::TimerId timer = 0;
    std::unique_ptr<probes::Run> running;
    bool queued = false;
  };
  void add_slot(const config::CheckConfig& check, const config::Target& target);
  void remove_slot(const CheckKey& key);
  void arm(Slot& s);
  void on_due(Slot& s, base::TimePoint planned);
  void start_run(Slot& s, base::TimePoint planned);
  void on_done(Slot& s, probes::Result r);
  void start_queued();
  void finish_drain();

  io::Loop& loop_;
  probes::Services& services_;
  exporters::DaemonMetrics& metrics_;
  std::vector<exporters::ResultSink*> sinks_;
  std::vector<AddedFn> added_fns_;
  std::shared_ptr<const config::Config> config_;
  std::map<CheckKey, std::unique_ptr<Slot>> slots_;
  std::deque<std::pair<CheckKey, base::TimePoint>> waiting_;  // due but over max_inflight
  size_t inflight_ = 0;
  size_t max_inflight_ = 2048;
  bool stopped_ = false;
  std::function<void()> drained_;  // set while draining; runs once inflight_ reaches 0
  io::TimerId drain_timer_ = 0;
};

}  // namespace probed::daemon
