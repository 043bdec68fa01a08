#include "tests/probes/probe_runner.h"

#include <dirent.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <optional>

#include "config/loader.h"
#include "daemon/io/ares_channel.h"
#include "daemon/io/curl_multi.h"
#include "daemon/io/loop.h"
#include "daemon/trace_text.h"
#include "probes/probe.h"

namespace probed::testing {
namespace {

// Time this thread has spent runnable but waiting for a CPU (/proc/thread-self/schedstat,
// second field, ns): on a loaded 2-core box the loop can be descheduled for 100 ms without
// anything blocking it, and that time is not the loop's fault.
std::chrono::nanoseconds runqueue_wait() {
  std::ifstream in("/proc/thread-self/schedstat");
  long long on_cpu = 0, waiting = 0;
  if (!(in >> on_cpu >> waiting)) return {};
  return std::chrono::nanoseconds(waiting);
}

}  // namespace

ProbeRun run_check(const std::string& toml) { return run_check_repeatedly(toml, 1).front(); }

std::vector<ProbeRun> run_check_repeatedly(const std::string& toml, int runs) {
  auto cfg = config::load_config_text(toml, "test.toml", "/tmp", probes::config_probe_types());
  if (!cfg.ok()) {
    std::ostringstream ss;
    cfg.diags.print(ss);
    FAIL("config errors:\n" << ss.str());
  }
  const auto& check = cfg.config->checks.front();
  auto loop = io::Loop::create();
  REQUIRE(loop.has_value());
  auto curl = io::CurlMulti::create(**loop);
  REQUIRE(curl.has_value());
  io::AresPool ares(**loop);
  io::Worker worker;
  probes::Services services{**loop, **curl, ares, &worker};
  const auto* type = probes::find_probe_type(check.type);
  REQUIRE(type != nullptr);
  auto probe = type->make(check, check.targets.front(), services);

  std::vector<ProbeRun> outs;
  for (int i = 0; i < runs; ++i) {
    ProbeRun out;
    auto last = std::chrono::steady_clock::now();
    auto last_wait = runqueue_wait();
    bool ticking = true;
    std::function<void()> tick = [&] {
      auto now = std::chrono::steady_clock::now();
      auto wait = runqueue_wait();
      out.max_loop_gap = std::max(out.max_loop_gap, std::chrono::duration_cast<std::chrono::milliseconds>(
                                                        (now - last) - (wait - last_wait)));
      last = now;
      last_wait = wait;
      if (ticking) (*loop)->after(std::chrono::milliseconds(5), tick);
    };
    (*loop)->after(std::chrono::milliseconds(5), tick);
    std::optional<probes::Result> result;
    auto start = std::chrono::steady_clock::now();
    auto run = probes::Run::start(*probe, **loop, check.timeout, /*trace=*/true,
                                  [&](probes::Result r) { result = std::move(r); });
    bool done = (*loop)->run_until([&] { return result.has_value(); },
                                   check.timeout + std::chrono::seconds(5));
    out.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
    REQUIRE(done);
    out.result = std::move(*result);
    out.trace = daemon::trace_text(check, check.targets.front(), out.result);
    ticking = false;
    (*loop)->run_until([] { return false; }, std::chrono::milliseconds(10));  // deferred cleanup
    outs.push_back(std::move(out));
  }
  // Release the probe's sockets before the loop goes away.
  probe.reset();
  (*loop)->run_until([] { return false; }, std::chrono::milliseconds(20));
  return outs;
}

std::chrono::milliseconds slack(std::chrono::milliseconds limit) {
  const char* f = std::getenv("PROBED_TIMING_SLACK");
  double factor = f != nullptr ? std::atof(f) : 1.0;
  if (factor < 1.0) factor = 1.0;
  return std::chrono::milliseconds(static_cast<int64_t>(static_cast<double>(limit.count()) * factor));
}

int open_fds() {
  int n = 0;
  DIR* d = opendir("/proc/self/fd");
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  closedir(d);
  return n - 1;  // the DIR itself
}

}  // namespace probed::testing
