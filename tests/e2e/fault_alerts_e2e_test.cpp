// Fault matrix, alert rows (issue 7), on the real binary: 1,000 checks flap every run with
// thresholds 1/1 while every receiver is broken (a webhook nobody listens for, a webhook that
// accepts and never answers, an Alertmanager pair of which one replica is down and the other
// answers 429 with Retry-After). Over 10,000 transitions the queues stay bounded, drops are
// counted, RSS levels off, probes keep their schedule and the daemon keeps serving.
// (Each receiver fault on its own, with exact timings, is in tests/daemon/notifier_test.cpp;
// kill -9 with notifications pending and the HA pair in alerting_e2e_test.cpp.)
#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/e2e/fault_e2e.h"
#include "tests/harness/fault_server.h"
#include "tests/harness/nginx.h"

using namespace probed::testing;
using namespace std::chrono_literals;

namespace {

constexpr int kChecks = 1000;
constexpr int kMaxQueue = 500;
constexpr int kAmBatch = 64;  // alerts per Alertmanager request

// /flip answers 200 while DIR/flip.txt exists and 404 while it does not; a thread flips it
// every second, so a check running once a second sees the other answer every run.
struct Flipper {
  TempDir dir{"probed-flip"};
  Nginx nginx{{NginxServer{.name = "web",
                           .extra_locations = "    location = /flip { default_type text/plain; alias " +
                                              dir.path() + "/flip.txt; }\n"}}};
  std::atomic<bool> stop{false};
  std::thread thread{[this] {
    bool up = true;
    while (!stop) {
      if (up) {
        std::ofstream(dir.file("flip.txt")) << "up\n";
      } else {
        std::filesystem::remove(dir.file("flip.txt"));
      }
      up = !up;
      for (int i = 0; i < 10 && !stop; ++i) std::this_thread::sleep_for(100ms);
    }
  }};
  ~Flipper() {
    stop = true;
    thread.join();
  }
};

double queue(const std::string& m, const std::string& receiver) {
  return series_value(m, "probed_notification_queue_length", "receiver=\"" + receiver + "\"");
}
double notifications(const std::string& m, const std::string& receiver, const std::string& result) {
  return series_value(m, "probed_notifications_total",
                      "receiver=\"" + receiver + "\",result=\"" + result + "\"");
}

}  // namespace

TEST_CASE("fault matrix: 10000 alert transitions while every receiver is broken: queues bounded, "
          "drops counted, RSS levels off, probes on time",
          "[e2e][fault][alerts]") {
  Flipper flip;
  const int refused = free_port();
  FaultServer silent({.mode = FaultMode::AcceptSilent});
  FaultServer throttled({.mode = FaultMode::Script,
                         .response = "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 30\r\n"
                                     "Content-Length: 0\r\nConnection: close\r\n\r\n"});
  const std::string limits = "max_queue = " + std::to_string(kMaxQueue) + "\ntimeout = \"1s\"\n";
  std::string config =
      "[[receivers]]\nname = \"down\"\ntype = \"webhook\"\nurl = \"http://127.0.0.1:" +
      std::to_string(refused) + "/hook\"\n" + limits +
      "[[receivers]]\nname = \"silent\"\ntype = \"webhook\"\nurl = \"" + silent.url("/hook") + "\"\n" +
      limits + "[[receivers]]\nname = \"am\"\ntype = \"alertmanager\"\nurls = [\"http://127.0.0.1:" +
      std::to_string(refused) + "\", \"" + throttled.url("") + "\"]\n" + limits +
      "[alerting]\nfailure_threshold = 1\nsuccess_threshold = 1\n";
  for (int i = 0; i < kChecks; ++i) {
    config += "[[checks]]\nname = \"flap-" + std::to_string(i) + "\"\ntype = \"http\"\ntargets = [\"" +
              flip.nginx.url("web", "/flip") + "?i=" + std::to_string(i) +
              "\"]\nalert_receivers = [\"down\", \"silent\", \"am\"]\n";
  }
  FaultDaemon d;
  d.write_config(config, "", "1s", "500ms");
  d.start();
  std::this_thread::sleep_for(5s);
  const auto m0 = d.metrics();
  const long rss0 = rss_kb(d.proc.pid());
  std::this_thread::sleep_for(10s);
  const auto m1 = d.metrics();
  const long rss1 = rss_kb(d.proc.pid());
  std::this_thread::sleep_for(10s);
  const auto m2 = d.metrics();
  const long rss2 = rss_kb(d.proc.pid());
  REQUIRE(d.proc.running());

  // Every transition is one notification to the webhook that is down: delivered never, so
  // dropped or still queued.
  const double transitions = notifications(m2, "down", "dropped") + queue(m2, "down");
  INFO("transitions " << transitions << "; queues down " << queue(m2, "down") << ", silent "
                      << queue(m2, "silent") << ", am " << queue(m2, "am"));
  CHECK(transitions >= 10000);
  // The gauge counts what waits plus what the request in flight carries.
  for (const auto& m : {m0, m1, m2}) {
    CHECK(queue(m, "down") <= kMaxQueue + 1);
    CHECK(queue(m, "silent") <= kMaxQueue + 1);
    CHECK(queue(m, "am") <= 2 * (kMaxQueue + kAmBatch));  // two URLs, each its own queue
  }
  CHECK(queue(m2, "down") >= kMaxQueue);
  CHECK(notifications(m2, "down", "dropped") > notifications(m1, "down", "dropped"));
  CHECK(notifications(m2, "silent", "dropped") > 0);
  CHECK(notifications(m2, "down", "sent") == 0);
  CHECK(notifications(m2, "down", "failed") > 0);
  // 429 with Retry-After: 30: one attempt, then the replica is left alone for 30 s.
  CHECK(throttled.connections() >= 1);
  CHECK(throttled.connections() <= 2);

  // Memory levels off: the second 10 s add (almost) nothing to the first.
  INFO("RSS " << rss0 << " -> " << rss1 << " -> " << rss2 << " kB");
  CHECK(rss2 <= rss1 + 4 * 1024);
  CHECK(rss2 <= rss0 + 32 * 1024);

  // The probes kept their schedule: every check once a second, on time.
  auto [p99, runs] = lag_p99(m0, m2);
  INFO("lag p99 bucket " << p99 << " s over " << runs << " runs");
  CHECK(runs >= 0.95 * kChecks * 20);
  CHECK(p99 <= 0.1 * timing_slack());
  CHECK(counter_sum(m2, "probed_runs_skipped_total") == 0);
  int code = -1;
  d.get("/-/healthy", "-f -o /dev/null", &code);
  CHECK(code == 0);
}
