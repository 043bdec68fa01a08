// Reload under load on the real binary: 1,000 tcp checks at a 1 s interval against a real
// nginx, two SIGHUP reloads (one check added, one removed, the 1,000 unchanged) inside a
// measured window. Read from /metrics: every unchanged check ran once per second across the
// reloads (a lost run would show as too few, a restarted schedule beside the old one as too
// many), no counter went back (no reset), nothing was skipped, the removed check is gone.
#include <algorithm>
#include <catch2/catch.hpp>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <regex>
#include <sstream>

#include "tests/e2e/ops_e2e.h"
#include "tests/harness/nginx.h"

using namespace probed::testing;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// The alert state file goes to the test's own directory, not /var/lib/probed.
std::string state_dir(const OpsDaemon& d) { return "state_dir = \"" + d.dir.path() + "\"\n"; }

// 1,000 in a normal build. Sanitizer builds (PROBED_TIMING_SLACK > 1, see .ci/test) run
// every probe several times slower, so there the same assertions run on 250 checks: what is
// checked is the reload logic, not the sanitizer's throughput.
int check_count() {
  const char* f = std::getenv("PROBED_TIMING_SLACK");
  return f != nullptr && std::atoi(f) > 1 ? 250 : 1000;
}
const int kChecks = check_count();

std::string tcp_check(const std::string& name, int port) {
  return "[[checks]]\nname = \"" + name +
         "\"\ntype = \"tcp\"\ntargets = [\"127.0.0.1:" + std::to_string(port) + "\"]\n";
}

std::string unchanged_checks(int port) {
  std::string s;
  char name[16];
  for (int i = 0; i < kChecks; ++i) {
    std::snprintf(name, sizeof(name), "c%04d", i);
    s += tcp_check(name, port);
  }
  return s;
}

// probe_runs_total per check (one target each).
std::map<std::string, double> runs(const std::string& metrics) {
  static const std::regex line(R"re(^probe_runs_total\{check="([^"]+)"[^}]*\} ([0-9.e+]+)$)re");
  std::map<std::string, double> out;
  std::istringstream in(metrics);
  std::string l;
  std::smatch m;
  while (std::getline(in, l)) {
    if (std::regex_match(l, m, line)) out[m[1]] = std::stod(m[2]);
  }
  return out;
}

// Checks whose skip counter is above zero.
std::vector<std::string> skipped(const std::string& metrics) {
  static const std::regex line(
      R"re(^probed_runs_skipped_total\{check="([^"]+)"[^}]*\} ([0-9.e+]+)$)re");
  std::vector<std::string> out;
  std::istringstream in(metrics);
  std::string l;
  std::smatch m;
  while (std::getline(in, l)) {
    if (std::regex_match(l, m, line) && std::stod(m[2]) > 0) out.push_back(m[1]);
  }
  return out;
}

// Every unchanged check's counter is at least what it was (a reset would go back).
void check_no_reset(const std::map<std::string, double>& before,
                    const std::map<std::string, double>& now) {
  int missing = 0, back = 0;
  for (const auto& [check, n] : before) {
    if (check.front() != 'c') continue;
    auto it = now.find(check);
    if (it == now.end())
      ++missing;
    else if (it->second < n)
      ++back;
  }
  CHECK(missing == 0);
  CHECK(back == 0);
}

}  // namespace

TEST_CASE("reload under load: 1000 checks keep one run per second across two reloads",
          "[e2e][reload][load]") {
  Nginx nginx({NginxServer{"t"}});
  const int port = nginx.port("t");
  OpsDaemon d;
  const std::string base = unchanged_checks(port);
  d.write_config(state_dir(d), base + tcp_check("gone", port));
  d.start();
  // Every slot has run at least twice: first runs are spread over the first interval.
  REQUIRE(eventually(
      [&] {
        auto r = runs(d.get("/metrics"));
        return r.size() == static_cast<size_t>(kChecks) + 1 &&
               std::all_of(r.begin(), r.end(), [](const auto& kv) { return kv.second >= 2; });
      },
      20s));

  auto t0 = Clock::now();
  auto m0 = runs(d.get("/metrics"));
  std::this_thread::sleep_for(1200ms);
  d.write_config(state_dir(d), base + tcp_check("added", port));  // "gone" removed, "added" new
  d.proc.signal(SIGHUP);
  std::this_thread::sleep_for(1500ms);
  auto mid = d.get("/metrics");
  check_no_reset(m0, runs(mid));
  d.write_config(state_dir(d),
                 tcp_check("added", port) + base);  // the same checks in another order
  d.proc.signal(SIGHUP);
  std::this_thread::sleep_until(t0 + 5s);
  auto m1_text = d.get("/metrics");
  double window = std::chrono::duration<double>(Clock::now() - t0).count();
  auto m1 = runs(m1_text);
  check_no_reset(m0, m1);

  // About `window` runs each: a lost run (or a schedule restarted from a new phase) makes
  // fewer, a second schedule beside the old one makes more.
  int lost = 0, doubled = 0;
  std::string examples;
  for (const auto& [check, n] : m0) {
    if (check == "gone") continue;
    double ran = m1[check] - n;
    if (ran < window - 1.5) ++lost;
    if (ran > window + 1.5) ++doubled;
    if ((ran < window - 1.5 || ran > window + 1.5) && examples.size() < 200) {
      examples += check + ":" + std::to_string(static_cast<int>(ran)) + " ";
    }
  }
  INFO(kChecks << " checks, window " << window << " s; off: " << examples);
  CHECK(lost == 0);
  CHECK(doubled == 0);
  CHECK(skipped(m1_text).empty());
  CHECK(m1.count("gone") == 0);
  CHECK_THAT(m1_text, !Catch::Contains("check=\"gone\""));
  CHECK(m1.count("added") == 1);
  CHECK_THAT(m1_text, Catch::Contains("probed_config_last_reload_successful 1"));
  CHECK_THAT(d.log(), Catch::Contains("config reloaded"));
}
