// Shared by the fault-matrix e2e tests: a probed daemon run from a temp dir (optionally under
// a file descriptor limit), its /metrics and /api/v1 read with curl, and what /proc says about
// its fds and memory. One test thread uses a FaultDaemon at a time.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>

#include "tests/e2e/e2e.h"
#include "tests/harness/ports.h"
#include "tests/harness/process.h"

namespace probed::testing {

// PROBED_TIMING_SLACK (sanitizer builds set 3): every timing limit is multiplied by it.
inline double timing_slack() {
  const char* s = std::getenv("PROBED_TIMING_SLACK");
  double v = s != nullptr ? std::atof(s) : 1.0;
  return v >= 1.0 ? v : 1.0;
}

inline std::string sh(const std::string& cmd, int* code = nullptr, int timeout_s = 60) {
  int rc = 0;
  auto out = Process::run_capture({"/bin/sh", "-c", cmd}, &rc, std::chrono::seconds(timeout_s));
  if (code != nullptr) *code = rc;
  return out;
}

// Cumulative counts of probed_schedule_lag_seconds_bucket by upper bound ("+Inf" as 1e9).
inline std::map<double, double> lag_buckets(const std::string& metrics) {
  std::map<double, double> out;
  const std::string key = "probed_schedule_lag_seconds_bucket{le=\"";
  for (size_t at = metrics.find(key); at != std::string::npos; at = metrics.find(key, at + 1)) {
    size_t q = metrics.find('"', at + key.size());
    std::string le = metrics.substr(at + key.size(), q - at - key.size());
    double bound = le == "+Inf" ? 1e9 : std::atof(le.c_str());
    out[bound] = std::atof(metrics.c_str() + metrics.find(' ', q) + 1);
  }
  return out;
}

// The upper bound of the bucket holding the 99th percentile of the runs started between two
// scrapes, and how many runs that was.
inline std::pair<double, double> lag_p99(const std::string& before, const std::string& after) {
  auto b = lag_buckets(before), a = lag_buckets(after);
  double total = a[1e9] - b[1e9];
  for (const auto& [le, count] : a) {
    if (count - b[le] >= 0.99 * total) return {le, total};
  }
  return {1e9, total};
}

// Sum of a counter's series (all label sets); 0 when absent.
inline double counter_sum(const std::string& metrics, const std::string& name) {
  double sum = 0;
  for (size_t at = metrics.find("\n" + name); at != std::string::npos;
       at = metrics.find("\n" + name, at + 1)) {
    size_t eol = metrics.find('\n', at + 1);
    std::string line = metrics.substr(at + 1, eol - at - 1);
    if (line.compare(name.size(), 1, "{") != 0 && line.compare(name.size(), 1, " ") != 0) continue;
    sum += std::atof(line.c_str() + line.rfind(' ') + 1);
  }
  return sum;
}

// The value of the first series of `name` whose labels contain `labels` (e.g.
// `check="api"`); -1 when there is none.
inline double series_value(const std::string& metrics, const std::string& name,
                           const std::string& labels) {
  const std::string key = "\n" + name + "{";
  for (size_t at = metrics.find(key); at != std::string::npos; at = metrics.find(key, at + 1)) {
    size_t eol = metrics.find('\n', at + 1);
    std::string line = metrics.substr(at + 1, eol - at - 1);
    if (line.find(labels) == std::string::npos) continue;
    return std::atof(line.c_str() + line.rfind(' ') + 1);
  }
  return -1;
}

inline int fd_count(pid_t pid) {
  int n = 0;
  for ([[maybe_unused]] const auto& e :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) {
    ++n;
  }
  return n;
}

// The fewest fds seen over a second: runs in flight come and go, what stays is the baseline.
inline int settled_fds(pid_t pid) {
  int least = fd_count(pid);
  for (int i = 0; i < 10; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    least = std::min(least, fd_count(pid));
  }
  return least;
}

inline long rss_kb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return -1;
}

struct FaultDaemon {
  TempDir dir{"probed-fault-e2e"};
  int port = free_port();
  std::string base = "http://127.0.0.1:" + std::to_string(port);
  Process proc;

  // `daemon_extra` goes into [daemon]; checks follow [defaults].
  void write_config(const std::string& checks, const std::string& daemon_extra = "",
                    const std::string& interval = "2s", const std::string& timeout = "1500ms") {
    std::ofstream(dir.file("probed.toml"))
        << "[daemon]\nlisten = \"127.0.0.1:" << port << "\"\nstate_dir = \"" << dir.file("state")
        << "\"\n" << daemon_extra << "\n[defaults]\ninterval = \"" << interval
        << "\"\ntimeout = \"" << timeout << "\"\n" << checks;
  }
  // `nofile` > 0: RLIMIT_NOFILE soft and hard, set by prlimit(1) which then execs probed.
  void start(int nofile = 0) {
    std::vector<std::string> argv;
    if (nofile > 0) argv = {"prlimit", "--nofile=" + std::to_string(nofile) + ":" + std::to_string(nofile), "--"};
    argv.insert(argv.end(), {probed_bin(), "run", "-c", dir.file("probed.toml")});
    ProcessOptions po;
    po.stderr_path = dir.file("probed.log");
    proc = Process::spawn(argv, po);
    for (int i = 0; i < 100 && get("/-/ready", "-o /dev/null -w '%{http_code}'") != "200"; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    REQUIRE(get("/-/ready", "-o /dev/null -w '%{http_code}'") == "200");
  }
  void reload() { proc.signal(SIGHUP); }
  // How many times the log says a reload succeeded.
  size_t reloads() const {
    const std::string text = log(), line = "msg=\"config reloaded\"";
    size_t n = 0;
    for (size_t at = text.find(line); at != std::string::npos; at = text.find(line, at + 1)) ++n;
    return n;
  }
  // SIGHUP until the daemon logs a successful reload (the log, not /metrics: a scrape of
  // 1,000 checks is slow while fds run out). Out of fds, a reload can fail to open the config
  // file ("Too many open files"); the old config keeps running and a later SIGHUP gets
  // through, as an operator would retry.
  void reload_and_wait() {
    const size_t before = reloads();
    for (int i = 0; i < 50 && reloads() == before; ++i) {
      if (i % 5 == 0) reload();
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    INFO(log().substr(log().size() > 3000 ? log().size() - 3000 : 0));
    REQUIRE(reloads() > before);
  }
  std::string get(const std::string& path, const std::string& opts = "", int* code = nullptr) {
    return sh("curl -s -m 10 " + opts + " '" + base + path + "'", code, 30);
  }
  std::string metrics(int* code = nullptr) { return get("/metrics", "", code); }
  std::string log() const { return read_file(dir.file("probed.log")); }
};

}  // namespace probed::testing
