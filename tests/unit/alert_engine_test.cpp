// The alert engine's threshold machine (SPEC §5) on a real loop and a real config, with the
// notifications it sends recorded in place of the Notifier.
#include <catch2/catch.hpp>

#include "config/loader.h"
#include "exporters/alerts/alert_engine.h"
#include "probes/probe.h"

using namespace probed;
using namespace probed::exporters::alerts;

namespace {

struct Sent {
  std::vector<std::string> receivers;
  Alert alert;
  bool resend;
};

class Recorder : public AlertSink {
 public:
  void notify(const std::vector<std::string>& receivers, const Alert& a, bool resend) override {
    sent.push_back({receivers, a, resend});
  }
  std::vector<Sent> sent;
  size_t count(const std::string& name, bool resolved) const {
    size_t n = 0;
    for (const auto& s : sent) n += (!s.resend && s.alert.name == name && s.alert.resolved() == resolved);
    return n;
  }
};

const char* kConfig = R"(
[daemon]
location = "lab"
[[checks]]
name = "api"
type = "http"
targets = ["http://127.0.0.1:1/"]
labels = { team = "web" }
alert_receivers = ["am"]
runbook_url = "https://wiki/rb/api"
[[checks]]
name = "edge"
type = "tls"
targets = ["127.0.0.1:1"]
alert_receivers = ["am"]
  [checks.tls]
  cert_warning = "30d"
  cert_critical = "7d"
[[checks]]
name = "gateway"
type = "tcp"
targets = ["127.0.0.1:2"]
[[receivers]]
name = "am"
type = "alertmanager"
url = "http://127.0.0.1:9/"
[alerting]
failure_threshold = 3
success_threshold = 2
resend_interval = "1h"
)";

struct Fixture {
  explicit Fixture(const std::string& extra = "") {
    auto r = config::load_config_text(std::string(kConfig) + extra, "t.toml", "/tmp",
                                      probes::config_probe_types());
    INFO(r.diags.size());
    REQUIRE(r.ok());
    cfg = r.config;
    loop = std::move(*io::Loop::create());
    engine = std::make_unique<AlertEngine>(*loop, rec);
    engine->apply(cfg);
    add_slots();
  }
  // What the scheduler does when it creates the slots.
  void add_slots() {
    for (const auto& c : cfg->checks) {
      for (const auto& t : c.targets) engine->on_added(c, t);
    }
  }
  void run(const std::string& check, bool ok) {
    const auto* c = cfg->find_check(check);
    auto r = ok ? probes::Result::ok()
                : probes::Result::fail(probes::FailureReason::Status, "status 503 not in [2xx]");
    engine->on_result(*c, c->targets.at(0), r);
  }
  void run_cert(double days_left) {
    const auto* c = cfg->find_check("edge");
    auto r = probes::Result::ok();
    probes::CertInfo leaf;
    leaf.subject = "CN=edge";
    leaf.issuer = "CN=Test CA";
    leaf.not_after = static_cast<int64_t>(base::unix_now() + days_left * 86400);
    r.chain.push_back(leaf);
    engine->on_result(*c, c->targets.at(0), r);
  }
  std::shared_ptr<const config::Config> cfg;
  std::unique_ptr<io::Loop> loop;
  Recorder rec;
  std::unique_ptr<AlertEngine> engine;
};

}  // namespace

TEST_CASE("alerts: ProbeFailed fires after exactly failure_threshold failures", "[unit][alerts]") {
  Fixture f;
  f.run("api", false);
  f.run("api", false);
  CHECK(f.rec.sent.empty());
  CHECK(f.engine->state_of({"api", "http://127.0.0.1:1/"}) == "pending");
  f.run("api", false);
  REQUIRE(f.rec.sent.size() == 1);
  const Alert& a = f.rec.sent[0].alert;
  CHECK(a.name == "ProbeFailed");
  CHECK(f.rec.sent[0].receivers == std::vector<std::string>{"am"});
  CHECK(a.label("alertname") == "ProbeFailed");
  CHECK(a.label("severity") == "critical");
  CHECK(a.label("check") == "api");
  CHECK(a.label("target") == "http://127.0.0.1:1/");
  CHECK(a.label("type") == "http");
  CHECK(a.label("team") == "web");
  CHECK(a.label("location") == "lab");
  CHECK(a.annotation("summary") == "api is failing for http://127.0.0.1:1/");
  CHECK(a.annotation("description") == "status: status 503 not in [2xx]");
  CHECK(a.annotation("runbook_url") == "https://wiki/rb/api");
  CHECK_FALSE(a.resolved());
  CHECK(f.engine->state_of({"api", "http://127.0.0.1:1/"}) == "firing");
  // Further failures do not announce it again.
  f.run("api", false);
  f.run("api", false);
  CHECK(f.rec.sent.size() == 1);
}

TEST_CASE("alerts: success_threshold successes resolve with a stable startsAt", "[unit][alerts]") {
  Fixture f;
  for (int i = 0; i < 3; ++i) f.run("api", false);
  REQUIRE(f.rec.sent.size() == 1);
  const double started = f.rec.sent[0].alert.starts_at;
  f.run("api", true);
  CHECK(f.rec.sent.size() == 1);  // one success is not enough
  f.run("api", false);            // and a failure in between starts the count again
  f.run("api", true);
  CHECK(f.rec.sent.size() == 1);
  f.run("api", true);
  REQUIRE(f.rec.sent.size() == 2);
  const Alert& r = f.rec.sent[1].alert;
  CHECK(r.resolved());
  CHECK(r.starts_at == started);
  CHECK(r.ends_at >= started);
  CHECK(f.engine->state_of({"api", "http://127.0.0.1:1/"}) == "ok");
}

TEST_CASE("alerts: a target alternating fail and success never fires with thresholds 3/2",
          "[unit][alerts]") {
  Fixture f;
  for (int i = 0; i < 100; ++i) f.run("api", i % 2 == 0);
  CHECK(f.rec.sent.empty());
  // Twin: two failures in a row between single successes still never reach 3...
  for (int i = 0; i < 30; ++i) f.run("api", i % 3 == 0);
  CHECK(f.rec.sent.empty());
  // ...and three in a row do.
  for (int i = 0; i < 3; ++i) f.run("api", false);
  CHECK(f.rec.count("ProbeFailed", false) == 1);
}

TEST_CASE("alerts: a certificate at 20 days fires one warning and no critical", "[unit][alerts]") {
  Fixture f;
  for (int i = 0; i < 5; ++i) f.run_cert(20);
  REQUIRE(f.rec.sent.size() == 1);
  const Alert& a = f.rec.sent[0].alert;
  CHECK(a.name == "CertificateExpiringSoon");
  CHECK(a.severity == "warning");
  CHECK(a.label("severity") == "warning");
  CHECK(a.annotation("summary") == "certificate for 127.0.0.1:1 expires in 19 days");
  CHECK(a.annotation("description").find("CN=edge issued by CN=Test CA") == 0);
  CHECK(f.rec.count("CertificateExpiringSoon", false) == 1);
  CHECK(f.engine->state_of({"edge", "127.0.0.1:1"}) == "certificate warning");

  SECTION("it becomes critical under cert_critical: the warning resolves, a critical fires") {
    f.run_cert(3);
    REQUIRE(f.rec.sent.size() == 3);
    CHECK(f.rec.sent[1].alert.severity == "warning");
    CHECK(f.rec.sent[1].alert.resolved());
    CHECK(f.rec.sent[2].alert.severity == "critical");
    CHECK_FALSE(f.rec.sent[2].alert.resolved());
  }
  SECTION("a renewed certificate resolves it") {
    f.run_cert(300);
    REQUIRE(f.rec.sent.size() == 2);
    CHECK(f.rec.sent[1].alert.resolved());
  }
  SECTION("an expired certificate is critical") {
    f.run_cert(-2);
    CHECK(f.rec.sent.back().alert.severity == "critical");
    CHECK(f.rec.sent.back().alert.annotation("summary").find("expired 2 days ago") != std::string::npos);
  }
}

TEST_CASE("alerts: a certificate far from expiry fires nothing", "[unit][alerts]") {
  Fixture f;
  f.run_cert(90);
  CHECK(f.rec.sent.empty());
}

TEST_CASE("alerts: while the canary fails, alerts are held and one ProberDegraded fires",
          "[unit][alerts]") {
  Fixture f("canary = \"gateway\"\n");
  for (int i = 0; i < 3; ++i) f.run("gateway", false);
  REQUIRE(f.rec.sent.size() == 1);
  CHECK(f.rec.sent[0].alert.name == "ProberDegraded");
  CHECK(f.rec.sent[0].alert.label("check") == "gateway");
  // gateway has no receivers of its own: every receiver gets it.
  CHECK(f.rec.sent[0].receivers == std::vector<std::string>{"am"});
  CHECK(f.engine->degraded());
  for (int i = 0; i < 3; ++i) f.run("api", false);
  CHECK(f.rec.sent.size() == 1);  // held
  CHECK(f.engine->state_of({"api", "http://127.0.0.1:1/"}) == "held");
  f.run("gateway", true);
  f.run("gateway", true);
  // ProberDegraded resolves, and the held alert that still fires is sent.
  REQUIRE(f.rec.sent.size() == 3);
  CHECK(f.rec.sent[1].alert.name == "ProberDegraded");
  CHECK(f.rec.sent[1].alert.resolved());
  CHECK(f.rec.sent[2].alert.name == "ProbeFailed");
  CHECK_FALSE(f.rec.sent[2].alert.resolved());
  CHECK(f.engine->state_of({"api", "http://127.0.0.1:1/"}) == "firing");
}

TEST_CASE("alerts: a held alert that recovers while the canary fails is never sent",
          "[unit][alerts]") {
  Fixture f("canary = \"gateway\"\n");
  for (int i = 0; i < 3; ++i) f.run("gateway", false);
  for (int i = 0; i < 3; ++i) f.run("api", false);
  f.run("api", true);
  f.run("api", true);
  f.run("gateway", true);
  f.run("gateway", true);
  CHECK(f.rec.count("ProbeFailed", false) == 0);
  CHECK(f.rec.count("ProbeFailed", true) == 0);
  CHECK(f.rec.count("ProberDegraded", true) == 1);
}

TEST_CASE("alerts: a removed check's firing alert is resolved, a re-added one is kept",
          "[unit][alerts]") {
  Fixture f;
  for (int i = 0; i < 3; ++i) f.run("api", false);
  REQUIRE(f.rec.sent.size() == 1);
  const config::CheckConfig& api = *f.cfg->find_check("api");
  SECTION("removed and added again in the same turn (a changed check): kept") {
    f.engine->on_removed({"api", "http://127.0.0.1:1/"});
    f.engine->on_added(api, api.targets[0]);
    f.loop->run_until([] { return false; }, std::chrono::milliseconds(20));
    CHECK(f.rec.sent.size() == 1);
    CHECK(f.engine->state_of({"api", "http://127.0.0.1:1/"}) == "firing");
  }
  SECTION("removed for good: resolved") {
    f.engine->on_removed({"api", "http://127.0.0.1:1/"});
    f.loop->run_until([] { return false; }, std::chrono::milliseconds(20));
    REQUIRE(f.rec.sent.size() == 2);
    CHECK(f.rec.sent[1].alert.resolved());
    CHECK(f.rec.sent[1].alert.annotation("description").find("removed") != std::string::npos);
  }
}

TEST_CASE("alerts: firing state survives a restart through to_json and restore",
          "[unit][alerts]") {
  Fixture f;
  for (int i = 0; i < 3; ++i) f.run("api", false);
  const double started = f.rec.sent.at(0).alert.starts_at;
  auto saved = f.engine->to_json();

  // The key's target is kept as a hash (a target URL may carry a token).
  CHECK(saved["alerts"][0].contains("target_sha256"));
  CHECK_FALSE(saved["alerts"][0].contains("target"));
  Fixture g;
  g.engine->restore(saved);
  g.add_slots();
  // Still failing after the restart: not announced again as new.
  g.run("api", false);
  CHECK(g.rec.sent.empty());
  CHECK(g.engine->state_of({"api", "http://127.0.0.1:1/"}) == "firing");
  // And its resolve is still delivered, with the original startsAt.
  g.run("api", true);
  g.run("api", true);
  REQUIRE(g.rec.sent.size() == 1);
  CHECK(g.rec.sent[0].alert.resolved());
  CHECK(g.rec.sent[0].alert.starts_at == started);
}

TEST_CASE("alerts: restored state of a check that is gone is resolved", "[unit][alerts]") {
  Fixture f;
  for (int i = 0; i < 3; ++i) f.run("api", false);
  auto saved = f.engine->to_json();
  Fixture g;
  g.engine->restore(saved);
  // No slot claims it (the check was removed while probed was down).
  g.engine->sweep();
  REQUIRE(g.rec.sent.size() == 1);
  CHECK(g.rec.sent[0].alert.resolved());
  CHECK(g.rec.sent[0].alert.label("check") == "api");
  CHECK(g.rec.sent[0].receivers == std::vector<std::string>{"am"});
}

TEST_CASE("alerts: a flapping check keeps one recently-resolved entry, gone once it fires again",
          "[unit][alerts]") {
  // Resolved alerts are re-sent for a while (so a lost resolve still arrives); they must not
  // pile up with every flap, and an old resolve must not be re-sent after the alert fired
  // again (Alertmanager would take it as the end of the new one).
  Fixture f;
  auto cycle = [&] {
    for (int i = 0; i < 3; ++i) f.run("api", false);
    for (int i = 0; i < 2; ++i) f.run("api", true);
  };
  for (int i = 0; i < 50; ++i) cycle();
  CHECK(f.rec.count("ProbeFailed", false) == 50);
  CHECK(f.rec.count("ProbeFailed", true) == 50);
  auto state = f.engine->to_json();
  REQUIRE(state["resolved"].size() == 1);
  CHECK(state["resolved"][0]["alert"]["labels"].dump().find("\"api\"") != std::string::npos);
  for (int i = 0; i < 3; ++i) f.run("api", false);
  CHECK(f.engine->to_json()["resolved"].empty());
}
