// Notifier delivery against in-process receivers shaped exactly (RecordingServer): retry on 500
// and 429 (Retry-After honoured), no retry on 400, a hanging receiver times out without
// delaying another, queue bounds hold, one Alertmanager replica down does not stop the other.
#include <catch2/catch.hpp>

#include <prometheus/registry.h>

#include <nlohmann/json.hpp>

#include "config/loader.h"
#include "daemon/io/curl_multi.h"
#include "exporters/alerts/notifier.h"
#include "probes/probe.h"
#include "tests/harness/ports.h"
#include "tests/harness/recording_server.h"

using namespace probed;
using namespace probed::exporters::alerts;
using probed::exporters::DaemonMetrics;
using probed::testing::RecordingServer;
using namespace std::chrono_literals;

namespace {

Alert alert(const std::string& check, bool resolved = false) {
  Alert a;
  a.name = "ProbeFailed";
  a.severity = "critical";
  a.check = check;
  a.target = "http://127.0.0.1:1/";
  a.labels = {{"alertname", "ProbeFailed"}, {"check", check}, {"severity", "critical"},
              {"target", a.target}};
  a.annotations = {{"description", "connect: refused"}, {"summary", check + " is failing"}};
  a.starts_at = base::unix_now();
  if (resolved) a.ends_at = a.starts_at + 1;
  return a;
}

struct Fixture {
  explicit Fixture(const std::string& receivers, Backoff backoff = {50ms, 400ms, 10min}) {
    auto r = config::load_config_text(receivers, "t.toml", "/tmp", probes::config_probe_types());
    std::ostringstream ss;
    r.diags.print(ss);
    INFO(ss.str());
    REQUIRE(r.ok());
    cfg = r.config;
    loop = std::move(*io::Loop::create());
    curl = std::move(*io::CurlMulti::create(*loop));
    ares = std::make_unique<io::AresPool>(*loop);
    metrics = std::make_unique<DaemonMetrics>(registry);
    notifier = std::make_unique<Notifier>(*loop, *curl, *ares, *metrics, backoff);
    notifier->apply(*cfg, "http://127.0.0.1:9465/");
  }
  ~Fixture() {
    notifier.reset();
    ares.reset();
  }
  bool run_until(const std::function<bool()>& pred, base::Duration limit = 10s) {
    return loop->run_until(pred, limit);
  }
  void run_for(base::Duration d) {
    loop->run_until([] { return false; }, d);
  }
  double value(const std::string& name, const std::string& receiver, const std::string& result = "") {
    for (const auto& fam : registry.Collect()) {
      if (fam.name != name) continue;
      for (const auto& m : fam.metric) {
        bool rx = false, res = result.empty();
        for (const auto& l : m.label) {
          rx = rx || (l.name == "receiver" && l.value == receiver);
          res = res || (l.name == "result" && l.value == result);
        }
        if (rx && res) return result.empty() ? m.gauge.value : m.counter.value;
      }
    }
    return -1;
  }
  double count(const std::string& receiver, const std::string& result) {
    return value("probed_notifications_total", receiver, result);
  }

  std::shared_ptr<const config::Config> cfg;
  std::unique_ptr<io::Loop> loop;
  std::unique_ptr<io::CurlMulti> curl;
  std::unique_ptr<io::AresPool> ares;
  prometheus::Registry registry;
  std::unique_ptr<DaemonMetrics> metrics;
  std::unique_ptr<Notifier> notifier;
};

std::string webhook(const std::string& name, const std::string& url, const std::string& extra = "") {
  return "[[receivers]]\nname = \"" + name + "\"\ntype = \"webhook\"\nurl = \"" + url + "\"\n" + extra;
}

}  // namespace

TEST_CASE("notifier: a webhook gets the alert once, with its headers", "[daemon][alerts]") {
  RecordingServer rx;
  Fixture f(webhook("hook", rx.url("/hook"), "headers = { \"X-Token\" = \"t0k3n\" }\n"));
  f.notifier->notify({"hook"}, alert("api"));
  REQUIRE(f.run_until([&] { return f.notifier->pending() == 0; }));
  REQUIRE(rx.count() == 1);
  auto req = rx.requests()[0];
  CHECK(req.method == "POST");
  CHECK(req.uri == "/hook");
  CHECK(req.header("X-Token") == "t0k3n");
  CHECK(req.header("Content-Type") == "application/json");
  auto j = nlohmann::json::parse(req.body);
  CHECK(j["status"] == "firing");
  CHECK(j["check"] == "api");
  CHECK(f.count("hook", "sent") == 1);
  CHECK(f.count("hook", "failed") == 0);
  CHECK(f.value("probed_notification_queue_length", "hook") == 0);
}

TEST_CASE("notifier: 500 then 200 is retried and delivered", "[daemon][alerts]") {
  RecordingServer rx;
  rx.script({{500, ""}, {503, ""}});
  Fixture f(webhook("hook", rx.url()));
  f.notifier->notify({"hook"}, alert("api"));
  REQUIRE(f.run_until([&] { return f.notifier->pending() == 0; }));
  auto reqs = rx.requests();
  REQUIRE(reqs.size() == 3);
  CHECK(reqs[0].body == reqs[2].body);
  // Backoff: at least half of the 50 ms step, then of the 100 ms step.
  CHECK(reqs[1].at - reqs[0].at >= 25ms);
  CHECK(reqs[2].at - reqs[1].at >= 50ms);
  CHECK(f.count("hook", "failed") == 2);
  CHECK(f.count("hook", "sent") == 1);
}

TEST_CASE("notifier: 429 with Retry-After waits that long", "[daemon][alerts]") {
  RecordingServer rx;
  rx.script({{429, "Retry-After: 1\r\n"}});
  Fixture f(webhook("hook", rx.url()));
  f.notifier->notify({"hook"}, alert("api"));
  REQUIRE(f.run_until([&] { return f.notifier->pending() == 0; }));
  auto reqs = rx.requests();
  REQUIRE(reqs.size() == 2);
  // The backoff alone would retry after 25-50 ms.
  CHECK(reqs[1].at - reqs[0].at >= 950ms);
  CHECK(f.count("hook", "sent") == 1);
}

TEST_CASE("notifier: 400 is not retried and counted as failed", "[daemon][alerts]") {
  RecordingServer rx;
  rx.script({{400, ""}});
  Fixture f(webhook("hook", rx.url()));
  f.notifier->notify({"hook"}, alert("api"));
  REQUIRE(f.run_until([&] { return f.notifier->pending() == 0; }));
  f.run_for(300ms);
  CHECK(rx.count() == 1);
  CHECK(f.count("hook", "failed") == 1);
  CHECK(f.count("hook", "sent") == 0);
}

TEST_CASE("notifier: a hanging receiver times out and does not delay another", "[daemon][alerts]") {
  RecordingServer slow, fast;
  slow.set_fallback({200, "", 0ms, true});
  Fixture f(webhook("slow", slow.url(), "timeout = \"300ms\"\n") + webhook("fast", fast.url()));
  // Timers count from the loop's cached clock: refresh it, as every loop turn does.
  f.loop->update_now();
  auto t0 = std::chrono::steady_clock::now();
  f.notifier->notify({"slow", "fast"}, alert("api"));
  REQUIRE(f.run_until([&] { return fast.count() == 1; }, 5s));
  CHECK(std::chrono::steady_clock::now() - t0 < 250ms);
  REQUIRE(f.run_until([&] { return f.count("slow", "failed") >= 1; }, 5s));
  auto took = std::chrono::steady_clock::now() - t0;
  CHECK(took >= 290ms);
  CHECK(took < 1500ms);
  CHECK(f.notifier->pending() == 1);  // still queued for the slow one, retried later
}

TEST_CASE("notifier: queues are bounded while a receiver is down and drops are counted",
          "[daemon][alerts]") {
  const int closed = probed::testing::free_port();
  Fixture f(webhook("hook", "http://127.0.0.1:" + std::to_string(closed) + "/", "max_queue = 1000\n"));
  for (int i = 0; i < 10000; ++i) f.notifier->notify({"hook"}, alert("c" + std::to_string(i)));
  f.run_for(200ms);
  const double pending = static_cast<double>(f.notifier->pending());
  CHECK(pending <= 1001);
  CHECK(pending >= 1000);
  CHECK(f.count("hook", "dropped") + pending == 10000);
  CHECK(f.value("probed_notification_queue_length", "hook") == pending);
  CHECK(f.count("hook", "failed") >= 1);
  // The newest survive: the last alert is still queued.
  auto spool = f.notifier->to_json();
  CHECK(spool[0]["alerts"].back()["check"] == "c9999");
}

TEST_CASE("notifier: Alertmanager keeps only the newest notification per alert while down",
          "[daemon][alerts]") {
  const int closed = probed::testing::free_port();
  Fixture f("[[receivers]]\nname = \"am\"\ntype = \"alertmanager\"\nurl = \"http://127.0.0.1:" +
            std::to_string(closed) + "\"\n",
            Backoff{5s, 10s, 10min});
  f.notifier->notify({"am"}, alert("api"));
  f.run_for(100ms);  // the first attempt failed; in backoff now
  f.notifier->notify({"am"}, alert("api"), true);
  f.notifier->notify({"am"}, alert("api", true));
  CHECK(f.notifier->pending() == 1);
  auto spool = f.notifier->to_json();
  CHECK(spool[0]["alerts"][0]["ends_at"].get<double>() > 0);
}

TEST_CASE("notifier: with one Alertmanager replica down the other still gets every alert",
          "[daemon][alerts]") {
  RecordingServer up;
  const int down_port = probed::testing::free_port();
  Fixture f("[[receivers]]\nname = \"am\"\ntype = \"alertmanager\"\nurls = [\"http://127.0.0.1:" +
            std::to_string(down_port) + "\", \"" + up.url() + "\"]\n");
  f.notifier->notify({"am"}, alert("a"));
  f.notifier->notify({"am"}, alert("b"));
  REQUIRE(f.run_until([&] { return up.count() >= 1; }, 5s));
  f.run_for(200ms);
  size_t alerts = 0;
  for (const auto& r : up.requests()) {
    CHECK(r.uri == "/api/v2/alerts");
    alerts += nlohmann::json::parse(r.body).size();
  }
  CHECK(alerts == 2);
  CHECK(f.notifier->pending() == 2);  // still owed to the replica that is down
  // The replica comes back: it gets them on a retry.
  RecordingServer back(down_port);
  REQUIRE(f.run_until([&] { return f.notifier->pending() == 0; }, 5s));
  CHECK(back.count() >= 1);
}

TEST_CASE("notifier: send_resolved = false skips resolves, resends go only to Alertmanager",
          "[daemon][alerts]") {
  RecordingServer hook, am;
  Fixture f(webhook("hook", hook.url(), "send_resolved = false\n") +
            "[[receivers]]\nname = \"am\"\ntype = \"alertmanager\"\nurl = \"" + am.url() + "\"\n");
  f.notifier->notify({"hook", "am"}, alert("api", true));
  f.notifier->notify({"hook", "am"}, alert("api"), true);
  REQUIRE(f.run_until([&] { return f.notifier->pending() == 0; }));
  f.run_for(100ms);
  CHECK(hook.count() == 0);
  CHECK(am.count() >= 1);
}

TEST_CASE("notifier: the spool round-trips through to_json and restore", "[daemon][alerts]") {
  const int port = probed::testing::free_port();
  const std::string cfg = webhook("hook", "http://127.0.0.1:" + std::to_string(port) + "/");
  nlohmann::json spool;
  {
    Fixture f(cfg);
    f.notifier->notify({"hook"}, alert("a"));
    f.notifier->notify({"hook"}, alert("b"));
    f.run_for(100ms);
    spool = f.notifier->to_json();
    CHECK(spool.dump().find(std::to_string(port)) == std::string::npos);  // no URL in it
  }
  RecordingServer rx(port);
  Fixture g(cfg);
  g.notifier->restore(spool);
  REQUIRE(g.run_until([&] { return g.notifier->pending() == 0; }));
  REQUIRE(rx.count() == 2);
  CHECK(nlohmann::json::parse(rx.requests()[0].body)["check"] == "a");
  CHECK(nlohmann::json::parse(rx.requests()[1].body)["check"] == "b");
}
