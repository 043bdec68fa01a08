// Alerting: the alert engine, the notifier and their state file, wired together for the
// daemon. The state file (<state_dir>/alert-state.json: firing alerts and undelivered
// notifications, no secrets) is rewritten atomically (temp file, fsync, rename) on the worker
// thread at most every kSaveDelay after a change, and once more at shutdown, so a crash loses
// at most that window and a restart resumes delivery. The state is gathered on the loop and
// serialized on the worker; when gathering it gets expensive (thousands of alerts flapping),
// saves are spaced out so that they take at most 1/kSaveCostRatio of the loop's time.
// Loop thread only, except where noted.
#pragma once

#include <memory>
#include <string>

#include "daemon/io/worker.h"
#include "exporters/alerts/alert_engine.h"
#include "exporters/alerts/notifier.h"

namespace probed::exporters::alerts {

class Alerting {
 public:
  static constexpr base::Duration kSaveDelay = std::chrono::milliseconds(200);
  static constexpr int kSaveCostRatio = 20;
  static constexpr base::Duration kMaxSaveDelay = std::chrono::seconds(5);
  static constexpr const char* kStateFile = "alert-state.json";

  Alerting(io::Loop& loop, io::CurlMulti& curl, io::AresPool& ares, io::Worker& worker,
           DaemonMetrics& metrics, Backoff backoff = {});
  ~Alerting();

  // Start-up, before the loop runs (blocking file I/O): creates state_dir if needed and reads
  // the state file. Without a usable state_dir alerting works but nothing survives a restart.
  void load_state(const std::string& state_dir);
  // Call before the scheduler applies the same config (its slot additions mark keys live).
  void apply(std::shared_ptr<const config::Config> cfg);
  AlertEngine& engine() { return engine_; }
  Notifier& notifier() { return notifier_; }
  // SIGTERM: one last delivery attempt for what is queued, within `bound`, then done().
  void shutdown(base::Duration bound, std::function<void()> done);
  // Writes the state file now through the worker and waits for it (after the loop stopped).
  void save_now();

 private:
  void schedule_save();
  nlohmann::json snapshot();  // measures what it costs into last_cost_
  // On the worker: serializes and writes; logs a failure.
  static void write_state(const std::string& dir, const nlohmann::json& state);
  static bool write_atomic(const std::string& dir, const std::string& text, std::string* error);

  io::Loop& loop_;
  io::Worker& worker_;
  Notifier notifier_;
  AlertEngine engine_;
  std::string dir_;       // empty: no persistence
  nlohmann::json spool_;  // read at start, queued again by the first apply()
  bool applied_ = false;
  io::TimerId save_timer_ = 0;
  base::Duration last_cost_{0};  // how long the last snapshot() held the loop
};

// The generatorURL base: [alerting] external_url, else http://<listen host or hostname>/.
std::string generator_base(const config::Config& cfg);

}  // namespace probed::exporters::alerts
