// StatusStore: the ResultSink behind the status page and /api/v1/{checks,certs}. It keeps, per
// (check, target), the last result, a ring of recent runs for the sparkline, and the last
// certificate chain; HTTP threads read an immutable StatusSnapshot and never touch the loop.
//
// Threads: on_added/on_result/on_removed/set_alert run on the loop thread. Each replaces the
// slot's row with a new immutable StatusRow (copy-on-write) under mu_, a lock held only for a
// map update. snapshot() runs on HTTP threads: it copies the row pointers under mu_ (10,000
// pointer copies, well under a millisecond) and builds the sorted view outside the lock. The
// built snapshot is cached and rebuilt only when a row changed and the cache is older than
// kMaxAge (so a burst of page loads costs one build), or after kMaxStaleAge regardless
// (days left move with the clock).
//
// Memory: a row is about 400 bytes plus its message and chain (subjects and issuers only).
#pragma once

#include <array>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "exporters/result_sink.h"
#include "exporters/status/cert_table.h"

namespace probed::exporters {

// The recent runs of one slot, oldest first when read through at(). Fixed size, no allocation.
class RunHistory {
 public:
  static constexpr size_t kSize = 30;
  void push(bool success, double seconds);
  size_t size() const { return count_; }
  bool success_at(size_t i) const { return (ok_bits_ >> index(i)) & 1U; }
  double seconds_at(size_t i) const { return seconds_[index(i)]; }

 private:
  size_t index(size_t i) const { return (head_ + kSize - count_ + i) % kSize; }
  std::array<float, kSize> seconds_{};  // float: a sparkline needs no more
  uint32_t ok_bits_ = 0;
  uint8_t head_ = 0;   // next write position
  uint8_t count_ = 0;
};

enum class CheckState { Pending, Up, Down };
std::string_view to_string(CheckState s);  // "pending", "up", "down"

struct StatusRow {
  std::string check, type, target;
  CheckState state = CheckState::Pending;
  std::string reason;   // SPEC §3 label; empty on success
  std::string message;  // redacted
  double duration_s = 0;
  double last_run_unix = 0;  // 0 before the first run
  uint64_t runs = 0;
  uint32_t consecutive_failures = 0;
  RunHistory history;
  // Extension point for the alert engine (set_alert): e.g. "firing" or "pending"; empty when
  // there is nothing to show. The page and the API show it when set.
  std::string alert;
  // Certificates: set when the check's type sees certificates for this target.
  std::optional<config::ProbeSpec::CertThresholds> cert_thresholds;
  std::shared_ptr<const std::vector<probes::CertInfo>> chain;  // subject/issuer/dates only
};

struct StatusSnapshot {
  double generated_unix = 0;
  std::string location;
  // Failing first (down, then pending, then up), then by check and target.
  std::vector<std::shared_ptr<const StatusRow>> checks;
  std::vector<CertRow> certs;  // sorted as `probed certs` sorts them
  size_t up = 0, down = 0, pending = 0;
};

class StatusStore : public ResultSink {
 public:
  explicit StatusStore(std::string location) : location_(std::move(location)) {}

  // Loop thread.
  void on_added(const config::CheckConfig& check, const config::Target& target);
  void on_result(const config::CheckConfig& check, const config::Target& target,
                 const probes::Result& result) override;
  void on_removed(const CheckKey& key) override;
  // The alert engine's hook: shows `state` ("" clears it) on the row of key.
  void set_alert(const CheckKey& key, std::string state);

  // Any thread. The same snapshot is shared by concurrent readers.
  std::shared_ptr<const StatusSnapshot> snapshot() const;

  static constexpr auto kMaxAge = std::chrono::seconds(1);
  static constexpr auto kMaxStaleAge = std::chrono::seconds(60);

 private:
  using RowPtr = std::shared_ptr<const StatusRow>;
  RowPtr find(CheckKeyRef key) const;
  void put(CheckKeyRef key, RowPtr row);
  // Sets key's row, at it when the row exists (it == rows_.end() otherwise). Under mu_.
  void set_locked(CheckKeyMap<RowPtr>::iterator it, CheckKeyRef key, RowPtr row);
  std::shared_ptr<const StatusSnapshot> build() const;

  std::string location_;
  mutable std::mutex mu_;  // guards rows_ and dirty_
  CheckKeyMap<RowPtr> rows_;
  mutable bool dirty_ = true;
  mutable std::mutex snap_mu_;  // guards cache_ and cache_time_; never held with mu_ by the loop
  mutable std::shared_ptr<const StatusSnapshot> cache_;
  mutable base::Clock::time_point cache_time_{};
};

}  // namespace probed::exporters
