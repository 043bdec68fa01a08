// Clock types used everywhere: a monotonic clock for scheduling and timing, and a helper to
// turn durations into seconds for metrics. Header-only, thread-safe (pure functions).
#pragma once

#include <chrono>

namespace probed::base {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Duration = std::chrono::nanoseconds;
using std::chrono::milliseconds;
using std::chrono::seconds;

inline double to_seconds(Duration d) { return std::chrono::duration<double>(d).count(); }

// Wall-clock unix time in seconds, for *_timestamp_seconds metrics and alert timestamps.
inline double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace probed::base
