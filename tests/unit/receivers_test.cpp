// Receiver payloads against golden JSON (tests/unit/golden/): what Alertmanager, a webhook,
// Slack and PagerDuty get for a firing and a resolved alert. Set PROBED_UPDATE_GOLDEN=1 to
// rewrite the files after an intended change, then review the diff.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "exporters/alerts/receivers.h"

using namespace probed;
using namespace probed::exporters::alerts;

namespace {

Alert firing() {
  Alert a;
  a.name = "ProbeFailed";
  a.severity = "critical";
  a.check = "api";
  a.target = "https://api.example.test/healthz";
  a.location = "edge-fra-1";
  a.labels = {{"alertname", "ProbeFailed"}, {"check", "api"}, {"location", "edge-fra-1"},
              {"severity", "critical"}, {"target", "https://api.example.test/healthz"},
              {"team", "web"}, {"type", "http"}};
  a.annotations = {{"description", "status: status 503 not in [2xx]"},
                   {"runbook_url", "https://wiki.example.test/rb/api"},
                   {"summary", "api is failing for https://api.example.test/healthz"}};
  a.starts_at = 1795435200.25;  // 2026-11-23T12:00:00.250Z
  return a;
}

Alert resolved() {
  Alert a = firing();
  a.ends_at = a.starts_at + 200;
  return a;
}

config::ReceiverConfig receiver(const std::string& type) {
  config::ReceiverConfig rc;
  rc.name = type + "-rx";
  rc.type = type;
  rc.urls = {"http://127.0.0.1:9093"};
  rc.routing_key = "R0UT1NGKEY";
  return rc;
}

RenderContext ctx() {
  RenderContext c;
  c.now = 1795435500;  // 2026-11-23T12:05:00Z
  c.resend_interval = std::chrono::minutes(1);
  c.generator_url = "http://edge-fra-1:9465/";
  c.receiver = "rx";
  return c;
}

void check_golden(const std::string& name, const std::string& rendered) {
  const std::string path = std::string(PROBED_SOURCE_DIR) + "/tests/unit/golden/" + name;
  auto got = nlohmann::json::parse(rendered);
  if (std::getenv("PROBED_UPDATE_GOLDEN") != nullptr) {
    std::ofstream(path) << got.dump(2) << "\n";
  }
  std::ifstream in(path);
  REQUIRE(in);
  auto want = nlohmann::json::parse(in);
  INFO(name << "\nwant: " << want.dump(2) << "\ngot:  " << got.dump(2));
  CHECK(got == want);
}

std::string render(const std::string& type, const std::vector<Alert>& alerts) {
  auto rx = make_receiver(receiver(type));
  REQUIRE(rx);
  return rx->render(alerts, ctx());
}

}  // namespace

TEST_CASE("receivers: alertmanager payload matches golden", "[unit][alerts][golden]") {
  check_golden("alertmanager.json", render("alertmanager", {firing(), resolved()}));
  auto j = nlohmann::json::parse(render("alertmanager", {firing()}));
  // Firing: endsAt 4 resend intervals after now, so a dead prober's alerts expire.
  CHECK(j[0]["endsAt"] == "2026-11-23T12:09:00.000Z");
  auto rx = make_receiver(receiver("alertmanager"));
  CHECK(rx->endpoint("http://127.0.0.1:9093") == "http://127.0.0.1:9093/api/v2/alerts");
  CHECK(rx->endpoint("http://127.0.0.1:9093/") == "http://127.0.0.1:9093/api/v2/alerts");
  CHECK(rx->endpoint("http://am/api/v2/alerts") == "http://am/api/v2/alerts");
  CHECK(rx->state_based());
  CHECK(rx->batch_size() > 1);
}

TEST_CASE("receivers: webhook payload matches golden", "[unit][alerts][golden]") {
  check_golden("webhook-firing.json", render("webhook", {firing()}));
  check_golden("webhook-resolved.json", render("webhook", {resolved()}));
}

TEST_CASE("receivers: slack payload matches golden", "[unit][alerts][golden]") {
  check_golden("slack-firing.json", render("slack", {firing()}));
  check_golden("slack-resolved.json", render("slack", {resolved()}));
}

TEST_CASE("receivers: pagerduty payload matches golden", "[unit][alerts][golden]") {
  check_golden("pagerduty-trigger.json", render("pagerduty", {firing()}));
  check_golden("pagerduty-resolve.json", render("pagerduty", {resolved()}));
  // One dedup_key per alert, check and target: trigger and resolve share it.
  auto t = nlohmann::json::parse(render("pagerduty", {firing()}));
  auto r = nlohmann::json::parse(render("pagerduty", {resolved()}));
  CHECK(t["dedup_key"] == r["dedup_key"]);
  Alert other = firing();
  other.target = "https://other.example.test/";
  CHECK(pagerduty_dedup_key(other) != t["dedup_key"].get<std::string>());
  other.target = std::string(400, 'x');
  CHECK(pagerduty_dedup_key(other).size() <= 255);
}

TEST_CASE("receivers: configured headers are sent, content type is JSON", "[unit][alerts]") {
  auto rc = receiver("webhook");
  rc.headers = {{"X-Token", "abc"}};
  auto rx = make_receiver(rc);
  CHECK(rx->headers() == std::vector<std::string>{"Content-Type: application/json", "X-Token: abc"});
}
