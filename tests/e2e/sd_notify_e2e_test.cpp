// sd_notify on the real binary, received on a test NOTIFY_SOCKET (an AF_UNIX datagram socket,
// what systemd listens on): READY=1 once the listener answers, RELOADING=1 then READY=1 around
// a SIGHUP, WATCHDOG=1 at half of WATCHDOG_USEC, none while the event loop is blocked (the
// PROBED_TEST_BLOCK_LOOP_ON_SIGUSR1 hook) and again after, STOPPING=1 on SIGTERM.
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <csignal>
#include <cstring>

#include "tests/e2e/ops_e2e.h"

using namespace probed::testing;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// The alert state file goes to the test's own directory, not /var/lib/probed.
std::string state_dir(const OpsDaemon& d) { return "state_dir = \"" + d.dir.path() + "\"\n"; }

// The receiving end of NOTIFY_SOCKET. One datagram is one sd_notify() call.
class NotifySocket {
 public:
  explicit NotifySocket(std::string path) : path_(std::move(path)) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    REQUIRE(path_.size() < sizeof(a.sun_path));
    std::memcpy(a.sun_path, path_.c_str(), path_.size());
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
  }
  ~NotifySocket() { ::close(fd_); }
  NotifySocket(const NotifySocket&) = delete;
  NotifySocket& operator=(const NotifySocket&) = delete;
  const std::string& path() const { return path_; }

  // The next message, or "" if none arrives within `limit`.
  std::string next(std::chrono::milliseconds limit) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(limit.count())) != 1) return "";
    char buf[4096];
    ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
  }
  // Skips other messages (keep-alives) until one containing `what`; false after `limit`.
  bool wait_for(const std::string& what, std::chrono::milliseconds limit,
                std::string* seen = nullptr) {
    auto end = Clock::now() + limit;
    while (Clock::now() < end) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now());
      std::string m = next(std::max(left, 1ms));
      if (seen != nullptr && !m.empty()) *seen += m + "|";
      if (m.find(what) != std::string::npos) return true;
    }
    return false;
  }
  // Arrival times of WATCHDOG=1 during `span` (other messages are ignored).
  std::vector<Clock::time_point> keepalives(std::chrono::milliseconds span) {
    std::vector<Clock::time_point> at;
    auto end = Clock::now() + span;
    while (Clock::now() < end) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now());
      if (next(std::max(left, 1ms)).find("WATCHDOG=1") != std::string::npos)
        at.push_back(Clock::now());
    }
    return at;
  }

 private:
  std::string path_;
  int fd_ = -1;
};

// Starts probed as systemd would: NOTIFY_SOCKET, WATCHDOG_USEC, and WATCHDOG_PID = the
// daemon's own pid (sd_watchdog_enabled() checks it), which only a shell that then execs the
// daemon can know.
void start_notified(OpsDaemon& d, const NotifySocket& s, const std::string& watchdog_pid,
                    std::vector<std::string> env = {}) {
  ProcessOptions po;
  po.stderr_path = d.dir.file("probed.log");
  po.env = std::move(env);
  po.env.push_back("NOTIFY_SOCKET=" + s.path());
  po.env.push_back("WATCHDOG_USEC=1000000");
  const std::string script =
      "WATCHDOG_PID=" + watchdog_pid + "; export WATCHDOG_PID; exec \"$0\" run -c \"$1\"";
  d.proc = Process::spawn({"/bin/sh", "-c", script, probed_bin(), d.dir.file("probed.toml")}, po);
}

std::string ready_code(const OpsDaemon& d) {
  return d.get("/-/ready", "-o /dev/null -w '%{http_code}'");
}

double gap_seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

const char kChecks[] =
    "[[checks]]\nname = \"self\"\ntype = \"http\"\ntargets = [\"http://127.0.0.1:1/\"]\n";

}  // namespace

TEST_CASE(
    "sd_notify: READY after the listener, RELOADING then READY on SIGHUP, STOPPING on SIGTERM",
    "[e2e][sd_notify]") {
  OpsDaemon d;
  NotifySocket s(d.dir.file("notify.sock"));
  d.write_config(state_dir(d), kChecks);
  start_notified(d, s, "$$");
  std::string seen;
  REQUIRE(s.wait_for("READY=1", 10s, &seen));
  // The first message is READY (nothing before it), and the listener already answers.
  CHECK_THAT(seen, Catch::StartsWith("READY=1"));
  CHECK(ready_code(d) == "200");

  d.proc.signal(SIGHUP);
  seen.clear();
  REQUIRE(s.wait_for("RELOADING=1", 5s, &seen));
  REQUIRE(s.wait_for("READY=1", 5s, &seen));
  INFO(seen);
  CHECK(ready_code(d) == "200");

  // A rejected config: the old one keeps running, and systemd hears READY again all the same.
  d.write_config(state_dir(d), std::string(kChecks) + "interval = \"10x\"\n");
  d.proc.signal(SIGHUP);
  REQUIRE(s.wait_for("RELOADING=1", 5s));
  REQUIRE(s.wait_for("READY=1", 5s));
  CHECK_THAT(d.get("/metrics"), Catch::Contains("probed_config_last_reload_successful 0"));

  d.proc.signal(SIGTERM);
  CHECK(s.wait_for("STOPPING=1", 5s));
  CHECK(d.proc.wait_exit(10s) == 0);
}

TEST_CASE("sd_notify: WATCHDOG keep-alives at half the period stop while the loop is blocked",
          "[e2e][sd_notify][watchdog]") {
  OpsDaemon d;
  NotifySocket s(d.dir.file("notify.sock"));
  d.write_config(state_dir(d), kChecks);
  start_notified(d, s, "$$", {"PROBED_TEST_BLOCK_LOOP_ON_SIGUSR1=3"});
  REQUIRE(s.wait_for("READY=1", 10s));
  // WATCHDOG_USEC = 1 s: one keep-alive every 0.5 s.
  auto before = s.keepalives(3s);
  INFO("keep-alives in 3 s: " << before.size());
  CHECK(before.size() >= 4);
  CHECK(before.size() <= 8);
  for (size_t i = 1; i < before.size(); ++i) {
    CHECK(gap_seconds(before[i - 1], before[i]) == Approx(0.5).margin(0.25));
  }

  // The hook sleeps the loop thread 3 s: the keep-alives, fed from the loop, must stop.
  d.proc.signal(SIGUSR1);
  auto blocked_from = Clock::now();
  auto during = s.keepalives(2500ms);
  // At most one sent before the signal was handled.
  for (auto t : during) CHECK(gap_seconds(blocked_from, t) < 0.3);

  // And come back once the loop runs again.
  auto after = s.keepalives(2500ms);
  CHECK(after.size() >= 2);
  CHECK_THAT(d.log(), Catch::Contains("blocking the event loop (test hook)"));
  d.proc.signal(SIGTERM);
  CHECK(d.proc.wait_exit(10s) == 0);
}

TEST_CASE("sd_notify: no keep-alives when WATCHDOG_PID names another process",
          "[e2e][sd_notify][watchdog]") {
  OpsDaemon d;
  NotifySocket s(d.dir.file("notify.sock"));
  d.write_config(state_dir(d), kChecks);
  start_notified(d, s, "1");  // the watchdog is meant for pid 1, not for this daemon
  REQUIRE(s.wait_for("READY=1", 10s));
  CHECK(s.keepalives(2s).empty());
  // The hook is off without its variable: the daemon warns about it only when it is set.
  CHECK_THAT(d.log(), !Catch::Contains("test hook enabled"));
  d.proc.signal(SIGTERM);
  CHECK(d.proc.wait_exit(10s) == 0);
}
