// Graceful shutdown on the real binary: SIGTERM while a probe is mid-run against a slow target.
// The run is let finish (or time out at its own deadline) and its Result still reaches the
// alert engine, which is visible from outside as a webhook notification flushed on the way out;
// the daemon exits 0 within the documented bound. Twin: a second SIGTERM stops at once and the
// unfinished run is dropped (no notification).
#include <catch2/catch.hpp>
#include <csignal>

#include "tests/e2e/ops_e2e.h"
#include "tests/harness/fault_server.h"
#include "tests/harness/recording_server.h"

using namespace probed::testing;
using namespace std::chrono_literals;

namespace {

// Sanitizer builds run slower (PROBED_TIMING_SLACK, see .ci/test): upper limits scale with it.
std::chrono::milliseconds slack(std::chrono::milliseconds d) {
  const char* f = std::getenv("PROBED_TIMING_SLACK");
  return d * (f != nullptr ? std::max(1, std::atoi(f)) : 1);
}

const char kUnavailable[] =
    "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

// One check "slow" against `target` (interval 5 s, timeout `timeout`), alerting to `hook` on
// its first failure.
void configure(OpsDaemon& d, const std::string& target, const std::string& timeout,
               const RecordingServer& hook) {
  d.write_config("state_dir = \"" + d.dir.path() + "\"\n",
                 "[[checks]]\nname = \"slow\"\ntype = \"http\"\ntargets = [\"" + target +
                     "\"]\ninterval = \"5s\"\ntimeout = \"" + timeout +
                     "\"\nalert_receivers = [\"hook\"]\n"
                     "[[receivers]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"" +
                     hook.url("/hook") + "\"\n[alerting]\nfailure_threshold = 1\n");
}

// Waits until the target accepted the probe's connection: the run is then in flight.
void wait_mid_run(const FaultServer& target) {
  REQUIRE(eventually([&] { return target.connections() >= 1; }, 10s));
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

std::string bodies(const RecordingServer& hook) {
  std::string all;
  for (const auto& r : hook.requests()) all += r.body + "\n";
  return all;
}

}  // namespace

TEST_CASE("shutdown: SIGTERM lets a running probe finish, its result alerts, exit 0 in bound",
          "[e2e][shutdown]") {
  RecordingServer hook;
  FaultServer target({FaultMode::Delay, kUnavailable, 1000ms, 2000ms});
  OpsDaemon d;
  configure(d, target.url("/slow"), "4s", hook);
  d.start();
  wait_mid_run(target);
  auto t0 = std::chrono::steady_clock::now();
  d.proc.signal(SIGTERM);
  int code = d.proc.wait_exit(slack(10s));
  double took = seconds_since(t0);
  INFO(d.log());
  CHECK(code == 0);
  // It waited for the answer (about 2 s after the connect) instead of abandoning the run...
  CHECK(took >= 1.0);
  CHECK(took < slack(2s + 5s).count() / 1000.0);
  // ...and the failure it saw reached the alert engine, whose notification was flushed.
  REQUIRE(hook.count() >= 1);
  CHECK_THAT(bodies(hook), Catch::Contains("ProbeFailed") && Catch::Contains("slow"));
  CHECK_THAT(d.log(), Catch::Contains("waiting for running probes"));
  CHECK_THAT(d.log(), Catch::Contains("probed stopped"));
}

TEST_CASE("shutdown: a probe that hangs ends at its own deadline as a timeout, then exit 0",
          "[e2e][shutdown]") {
  RecordingServer hook;
  FaultServer target({FaultMode::AcceptSilent});
  OpsDaemon d;
  configure(d, target.url("/hang"), "2s", hook);
  d.start();
  wait_mid_run(target);
  auto t0 = std::chrono::steady_clock::now();
  d.proc.signal(SIGTERM);
  int code = d.proc.wait_exit(slack(10s));
  double took = seconds_since(t0);
  INFO(d.log());
  CHECK(code == 0);
  CHECK(took < slack(2s + 5s).count() / 1000.0);  // the run's deadline, then the flush
  REQUIRE(hook.count() >= 1);
  CHECK_THAT(bodies(hook), Catch::Contains("ProbeFailed") && Catch::Contains("timeout"));
}

TEST_CASE("shutdown: a second SIGTERM stops at once and drops the unfinished run",
          "[e2e][shutdown]") {
  RecordingServer hook;
  FaultServer target({FaultMode::Delay, kUnavailable, 1000ms, 3000ms});
  OpsDaemon d;
  configure(d, target.url("/slow"), "4s", hook);
  d.start();
  wait_mid_run(target);
  auto t0 = std::chrono::steady_clock::now();
  d.proc.signal(SIGTERM);
  std::this_thread::sleep_for(300ms);
  REQUIRE(d.proc.running());  // the first one alone waits for the run
  d.proc.signal(SIGTERM);
  int code = d.proc.wait_exit(slack(5s));
  double took = seconds_since(t0);
  INFO(d.log());
  CHECK(code == 0);
  // Before the target answers (3 s): loop stop, state file, HTTP server stop take ~0.1-2 s on
  // a loaded machine. The proof that the run was dropped is that no alert went out.
  CHECK(took < slack(2900ms).count() / 1000.0);
  CHECK(hook.count() == 0);
  CHECK_THAT(d.log(), Catch::Contains("second stop signal"));
  CHECK_THAT(d.log(), Catch::Contains("probed stopped"));
}
