// Runs one check from an inline TOML config once on a real Loop (the `probed probe` path) and
// reports its Result, how long it took, and the loop's longest stall meanwhile (a 5 ms ticker
// measures that the loop stayed responsive). Test-only; main thread.
#pragma once

#include <chrono>
#include <string>

#include "probes/result.h"

namespace probed::testing {

struct ProbeRun {
  probes::Result result;
  std::chrono::milliseconds elapsed{0};
  // The longest the loop went without running a 5 ms timer, less the time the thread was
  // runnable but waiting for a CPU: what the probe's own code blocked it for.
  std::chrono::milliseconds max_loop_gap{0};
  std::string trace;  // the `probed probe` text
};

// `toml` holds one [[checks]] (with targets); its first target is probed.
ProbeRun run_check(const std::string& toml);
// The same, `runs` times with one Probe object, as the scheduler reuses it.
std::vector<ProbeRun> run_check_repeatedly(const std::string& toml, int runs);

// Timing limits in tests are multiplied by PROBED_TIMING_SLACK (default 1): sanitizer builds
// run 2-5x slower, so CI sets it there.
std::chrono::milliseconds slack(std::chrono::milliseconds limit);

// Counts the file descriptors this process has open.
int open_fds();

}  // namespace probed::testing
