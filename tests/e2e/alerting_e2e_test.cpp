// End to end alerting on the real binary: a failing target's ProbeFailed reaches a real
// Alertmanager (Debian's prometheus-alertmanager) after failure_threshold failures with the
// labels and annotations of SPEC §5, both replicas of an HA pair get it even when one starts
// late, recovery resolves it; kill -9 with notifications pending loses nothing and a firing
// alert keeps its startsAt across the restart; SIGTERM persists what could not be delivered;
// an HA pair yields one alert; a reload keeps a firing alert and removing its check resolves it.
#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "exporters/alerts/alert.h"
#include "tests/e2e/e2e.h"
#include "tests/harness/ports.h"
#include "tests/harness/process.h"
#include "tests/harness/recording_server.h"

using namespace probed::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

std::string curl(const std::string& args) {
  int rc = 0;
  return Process::run_capture({"/bin/sh", "-c", "curl -s " + args}, &rc, std::chrono::seconds(30));
}

bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds limit) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(100ms);
  }
  return pred();
}

// A listening socket: the tcp check's target comes up (the kernel completes handshakes).
struct Listener {
  explicit Listener(int port) {
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(listen(fd, 64) == 0);
  }
  ~Listener() { close(fd); }
  int fd = -1;
};

struct Alertmanager {
  Alertmanager(const TempDir& dir, int port, const std::string& name) : port(port) {
    const std::string cfg = dir.file(name + ".yml");
    std::ofstream(cfg) << "route:\n  receiver: blackhole\n  group_wait: 1s\nreceivers:\n  - name: blackhole\n";
    ProcessOptions po;
    po.stderr_path = dir.file(name + ".log");
    proc = Process::spawn({"prometheus-alertmanager", "--config.file=" + cfg,
                           "--storage.path=" + dir.file(name + "-data"),
                           "--web.listen-address=127.0.0.1:" + std::to_string(port),
                           "--cluster.listen-address="},
                          po);
    REQUIRE(wait_for_tcp("127.0.0.1", port, 30s));
  }
  json alerts() const {
    auto body = curl("'http://127.0.0.1:" + std::to_string(port) + "/api/v2/alerts'");
    auto j = json::parse(body, nullptr, false);
    return j.is_array() ? j : json::array();
  }
  // The active alerts named `name` for check `check`.
  std::vector<json> find(const std::string& name, const std::string& check) const {
    std::vector<json> out;
    for (const auto& a : alerts()) {
      if (a["labels"].value("alertname", "") == name && a["labels"].value("check", "") == check) {
        out.push_back(a);
      }
    }
    return out;
  }
  int port;
  Process proc;
};

struct Probed {
  TempDir dir{"probed-alert-e2e"};
  int port = free_port();
  std::string listen = "127.0.0.1:" + std::to_string(port);
  Process proc;

  void write(const std::string& body) {
    std::ofstream(dir.file("probed.toml"))
        << "[daemon]\nlisten = \"" << listen << "\"\nlocation = \"e2e\"\nstate_dir = \""
        << dir.file("state") << "\"\n[defaults]\ninterval = \"1s\"\ntimeout = \"500ms\"\n" << body;
  }
  void start() {
    ProcessOptions po;
    po.stderr_path = dir.file("probed.log");
    proc = Process::spawn({probed_bin(), "run", "-c", dir.file("probed.toml")}, po);
    REQUIRE(wait_for_tcp("127.0.0.1", port, 10s));
  }
  double runs(const std::string& check) const {
    auto m = curl("http://" + listen + "/metrics");
    auto at = m.find("probe_runs_total{check=\"" + check + "\"");
    if (at == std::string::npos) return -1;
    auto sp = m.find("} ", at);
    return std::stod(m.substr(sp + 2, m.find('\n', sp) - sp - 2));
  }
  json state() const {
    auto j = json::parse(read_file(dir.file("state/alert-state.json")), nullptr, false);
    return j.is_object() ? j : json::object();
  }
  std::string log() const { return read_file(dir.file("probed.log")); }
};

std::string tcp_check(const std::string& name, int port, const std::string& extra = "") {
  return "[[checks]]\nname = \"" + name + "\"\ntype = \"tcp\"\ntargets = [\"127.0.0.1:" +
         std::to_string(port) + "\"]\n" + extra;
}

}  // namespace

TEST_CASE("e2e: ProbeFailed reaches both Alertmanager replicas and resolves on recovery",
          "[e2e][alerts]") {
  TempDir amdir("probed-am");
  const int am1_port = free_port(), am2_port = free_port(), target = free_port();
  Alertmanager am1(amdir, am1_port, "am1");
  Probed p;
  p.write(tcp_check("svc", target,
                    "labels = { team = \"core\" }\nalert_receivers = [\"am\"]\n"
                    "runbook_url = \"https://wiki.example.test/rb/svc\"\n") +
          "[[receivers]]\nname = \"am\"\ntype = \"alertmanager\"\nurls = [\"http://127.0.0.1:" +
          std::to_string(am1_port) + "\", \"http://127.0.0.1:" + std::to_string(am2_port) +
          "/\"]\n[alerting]\nfailure_threshold = 3\nsuccess_threshold = 2\nresend_interval = \"10s\"\n");
  p.start();

  // After two failed runs there is no alert yet.
  REQUIRE(eventually([&] { return p.runs("svc") >= 2; }, 10s));
  if (p.runs("svc") == 2) CHECK(am1.find("ProbeFailed", "svc").empty());
  // After the third, there is.
  REQUIRE(eventually([&] { return !am1.find("ProbeFailed", "svc").empty(); }, 10s));
  CHECK(p.runs("svc") >= 3);
  auto a = am1.find("ProbeFailed", "svc").at(0);
  INFO(a.dump(2));
  CHECK(a["labels"]["severity"] == "critical");
  CHECK(a["labels"]["target"] == "127.0.0.1:" + std::to_string(target));
  CHECK(a["labels"]["type"] == "tcp");
  CHECK(a["labels"]["team"] == "core");
  CHECK(a["labels"]["location"] == "e2e");
  CHECK(a["annotations"]["summary"] == "svc is failing for 127.0.0.1:" + std::to_string(target));
  CHECK_THAT(a["annotations"]["description"].get<std::string>(), Catch::StartsWith("connect: "));
  CHECK(a["annotations"]["runbook_url"] == "https://wiki.example.test/rb/svc");
  CHECK(a["generatorURL"] == "http://" + p.listen + "/#check-svc");
  const std::string started = a["startsAt"];

  // The second replica was down; it gets the alert once it is up, with the same startsAt.
  Alertmanager am2(amdir, am2_port, "am2");
  REQUIRE(eventually([&] { return !am2.find("ProbeFailed", "svc").empty(); }, 20s));
  CHECK(am2.find("ProbeFailed", "svc").at(0)["startsAt"] == started);
  // Resends keep startsAt stable.
  std::this_thread::sleep_for(1500ms);
  CHECK(am1.find("ProbeFailed", "svc").at(0)["startsAt"] == started);

  // Recovery: two successes resolve it in both (long before the 40 s endsAt lease).
  Listener up(target);
  REQUIRE(eventually([&] { return am1.find("ProbeFailed", "svc").empty(); }, 10s));
  REQUIRE(eventually([&] { return am2.find("ProbeFailed", "svc").empty(); }, 10s));
  auto metrics = curl("http://" + p.listen + "/metrics");
  CHECK_THAT(metrics, Catch::Contains("probed_notifications_total{receiver=\"am\",result=\"sent\"}"));
  CHECK_THAT(metrics, Catch::Contains("probed_notification_queue_length{receiver=\"am\"} 0"));
  p.proc.signal(SIGTERM);
  CHECK(p.proc.wait_exit(10s) == 0);
}

TEST_CASE("e2e: kill -9 with notifications pending: everything arrives after the restart",
          "[e2e][alerts]") {
  const int hook_port = free_port(), target = free_port();
  Probed p;
  p.write(tcp_check("svc", target, "alert_receivers = [\"hook\"]\n") +
          "[[receivers]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"http://127.0.0.1:" +
          std::to_string(hook_port) + "/hook\"\n[alerting]\nfailure_threshold = 1\nsuccess_threshold = 1\n");
  p.start();
  // The receiver is down: the firing notification waits in the spool on disk.
  REQUIRE(eventually([&] { return p.state().value("spool", json::array()).size() == 1; }, 10s));
  const double starts_at = p.state()["engine"]["alerts"][0]["failed"]["starts_at"];
  p.proc.signal(SIGKILL);
  REQUIRE(p.proc.wait_exit(5s) == 128 + SIGKILL);

  RecordingServer hook(hook_port);
  p.start();
  REQUIRE(hook.wait_for(1, 10s));
  std::this_thread::sleep_for(2500ms);  // the target still fails: nothing new is announced
  auto reqs = hook.requests();
  INFO(p.log());
  REQUIRE(reqs.size() == 1);
  auto firing = json::parse(reqs[0].body);
  CHECK(firing["status"] == "firing");
  CHECK(firing["startsAt"] == probed::exporters::alerts::rfc3339(starts_at));
  CHECK_THAT(p.log(), Catch::Contains("spooled notifications queued again"));
  // The restored alert state shows on the status API and page.
  CHECK_THAT(curl("http://" + p.listen + "/api/v1/checks"), Catch::Contains("\"alert\":\"firing\""));
  CHECK_THAT(curl("http://" + p.listen + "/"), Catch::Contains("id=\"check-svc\""));

  // The resolve is still delivered when the target recovers.
  Listener up(target);
  REQUIRE(hook.wait_for(2, 10s));
  auto resolved = json::parse(hook.requests()[1].body);
  CHECK(resolved["status"] == "resolved");
  CHECK(resolved["startsAt"] == firing["startsAt"]);
  p.proc.signal(SIGTERM);
  CHECK(p.proc.wait_exit(10s) == 0);
}

TEST_CASE("e2e: SIGTERM with a hanging receiver exits 0 within the bound and keeps the spool",
          "[e2e][alerts]") {
  RecordingServer hook;
  hook.set_fallback({200, "", 0ms, true});
  const int target = free_port();
  Probed p;
  p.write(tcp_check("svc", target, "alert_receivers = [\"hook\"]\n") +
          "[[receivers]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"" + hook.url() +
          "\"\ntimeout = \"1m\"\n[alerting]\nfailure_threshold = 1\n");
  p.start();
  REQUIRE(hook.wait_for(1, 10s));
  auto t0 = std::chrono::steady_clock::now();
  p.proc.signal(SIGTERM);
  CHECK(p.proc.wait_exit(15s) == 0);
  auto took = std::chrono::steady_clock::now() - t0;
  CHECK(took < 8s);
  auto spool = p.state().value("spool", json::array());
  INFO(p.log());
  REQUIRE(spool.size() == 1);
  CHECK(spool[0]["receiver"] == "hook");
  CHECK(spool[0]["alerts"].size() == 1);
}

TEST_CASE("e2e: an HA pair of probers on one config yields one alert in Alertmanager",
          "[e2e][alerts]") {
  TempDir amdir("probed-am-ha");
  const int am_port = free_port(), target = free_port();
  Alertmanager am(amdir, am_port, "am");
  const std::string cfg = tcp_check("svc", target, "alert_receivers = [\"am\"]\n") +
                          "[[receivers]]\nname = \"am\"\ntype = \"alertmanager\"\nurl = "
                          "\"http://127.0.0.1:" + std::to_string(am_port) +
                          "\"\n[alerting]\nfailure_threshold = 1\nresend_interval = \"2s\"\n";
  Probed a, b;  // same location, same checks: nothing tells them apart
  a.write(cfg);
  b.write(cfg);
  a.start();
  b.start();
  REQUIRE(eventually([&] { return a.runs("svc") >= 2 && b.runs("svc") >= 2; }, 10s));
  // Both have sent (and re-sent) it; Alertmanager holds one alert.
  REQUIRE(eventually([&] {
    auto m = curl("http://" + b.listen + "/metrics");
    return m.find("probed_notifications_total{receiver=\"am\",result=\"sent\"} 0") == std::string::npos;
  }, 10s));
  std::this_thread::sleep_for(2500ms);
  CHECK(am.find("ProbeFailed", "svc").size() == 1);
  CHECK(am.alerts().size() == 1);
}

TEST_CASE("e2e: a reload keeps a firing alert, and removing its check resolves it",
          "[e2e][alerts]") {
  RecordingServer hook;
  const int target = free_port();
  Probed p;
  const std::string receivers = "[[receivers]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"" +
                                hook.url() + "\"\n[alerting]\nfailure_threshold = 2\n";
  p.write(tcp_check("svc", target, "alert_receivers = [\"hook\"]\n") + receivers);
  p.start();
  REQUIRE(hook.wait_for(1, 10s));
  const auto started = json::parse(hook.requests()[0].body)["startsAt"];

  // An unrelated change, and a change to the check itself (it restarts): no new announcement.
  p.write(tcp_check("svc", target, "alert_receivers = [\"hook\"]\nlabels = { x = \"1\" }\n") +
          tcp_check("other", target) + receivers);
  p.proc.signal(SIGHUP);
  REQUIRE(eventually([&] { return p.log().find("config reloaded") != std::string::npos; }, 10s));
  std::this_thread::sleep_for(2500ms);
  CHECK(hook.count() == 1);

  // The check is removed: its alert resolves, with the same startsAt.
  p.write(tcp_check("other", target) + receivers);
  p.proc.signal(SIGHUP);
  REQUIRE(hook.wait_for(2, 10s));
  auto resolved = json::parse(hook.requests()[1].body);
  CHECK(resolved["status"] == "resolved");
  CHECK(resolved["check"] == "svc");
  CHECK(resolved["startsAt"] == started);
  CHECK_THAT(resolved["annotations"]["description"].get<std::string>(), Catch::Contains("removed"));
  p.proc.signal(SIGTERM);
  CHECK(p.proc.wait_exit(10s) == 0);
}
