// [[receivers]] and [alerting]: valid settings and every error with its line and column.
#include <catch2/catch.hpp>

#include <fstream>

#include "daemon/base/redact.h"
#include "tests/config/config_helpers.h"

using namespace probed;
using namespace probed::test;

namespace {

const char* kCheck = "[[checks]]\nname = \"api\"\ntype = \"http\"\ntargets = [\"http://127.0.0.1:1/\"]\n";

}  // namespace

TEST_CASE("config: receivers and alerting load with their defaults", "[config][alerting]") {
  std::ofstream("/tmp/probed-test-pd-key") << "pd-routing-canary-9931\n";
  std::ofstream("/tmp/probed-test-slack-url") << "http://127.0.0.1:9/services/slack-canary-9932\n";
  auto r = load(std::string(kCheck) + R"(alert_receivers = ["am", "pd"]

[[receivers]]
name = "am"
type = "alertmanager"
urls = ["http://127.0.0.1:9093", "http://127.0.0.1:9094/"]

[[receivers]]
name = "hook"
type = "webhook"
url = "http://127.0.0.1:8080/hook"
headers = { "X-Token" = "abc123" }
timeout = "2s"
max_queue = 50
send_resolved = false

[[receivers]]
name = "chat"
type = "slack"
url_file = "/tmp/probed-test-slack-url"

[[receivers]]
name = "pd"
type = "pagerduty"
routing_key_file = "/tmp/probed-test-pd-key"

[alerting]
failure_threshold = 4
success_threshold = 1
resend_interval = "30s"
canary = "api"
)");
  INFO(all(r));
  REQUIRE(r.ok());
  const auto& c = *r.config;
  REQUIRE(c.receivers.size() == 4);
  CHECK(c.receivers[0].urls.size() == 2);
  CHECK(c.receivers[0].send_resolved);
  CHECK(c.receivers[1].headers.size() == 1);
  CHECK(c.receivers[1].timeout == std::chrono::seconds(2));
  CHECK(c.receivers[1].max_queue == 50);
  CHECK_FALSE(c.receivers[1].send_resolved);
  CHECK(c.receivers[2].urls.at(0) == "http://127.0.0.1:9/services/slack-canary-9932");
  CHECK(c.receivers[3].routing_key == "pd-routing-canary-9931");
  CHECK(c.receivers[3].urls.at(0) == "https://events.pagerduty.com/v2/enqueue");
  CHECK(c.alerting.failure_threshold == 4);
  CHECK(c.alerting.success_threshold == 1);
  CHECK(c.alerting.resend_interval == std::chrono::seconds(30));
  CHECK(c.alerting.canary == "api");
  CHECK(c.checks[0].alert_receivers == std::vector<std::string>{"am", "pd"});
  // Secret files are registered for masking.
  CHECK(base::redact("key pd-routing-canary-9931") == "key <secret>");
  CHECK(base::redact("http://127.0.0.1:9/services/slack-canary-9932") == "<secret>");

  auto d = load(std::string(kCheck));
  REQUIRE(d.ok());
  CHECK(d.config->alerting.failure_threshold == 3);
  CHECK(d.config->alerting.success_threshold == 2);
  CHECK(d.config->alerting.resend_interval == std::chrono::minutes(1));
  CHECK(d.config->alerting.send_resolved);
}

TEST_CASE("config: receiver and alerting errors name their position", "[config][alerting]") {
  const std::string am = "[[receivers]]\nname = \"am\"\ntype = \"alertmanager\"\n";
  // Line 5 of kCheck + this is the first line after the check.
  config_should_fail(std::string(kCheck) + "alert_receivers = [\"nope\"]\n" + am +
                         "url = \"http://127.0.0.1:9093\"\n",
                     5, 19, "unknown receiver 'nope' (am)");
  config_should_fail(am + "url = \"ftp://x\"\n", 4, 7, "must be an http:// or https:// URL");
  config_should_fail(am + "uri = \"http://127.0.0.1:9093\"\n", 4, 1,
                     "unknown key 'uri' in receiver 'am' (did you mean 'url'?)");
  config_should_fail(am, 1, 1, "receiver 'am' has no 'url'");
  config_should_fail("[[receivers]]\nname = \"x\"\ntype = \"email\"\nurl = \"http://a/\"\n", 3, 8,
                     "unknown receiver type 'email'");
  config_should_fail("[[receivers]]\nname = \"h\"\ntype = \"webhook\"\nurls = [\"http://a/\"]\n", 4,
                     1, "'urls' is for an Alertmanager cluster");
  config_should_fail(am + "url = \"http://a/\"\n" + am + "url = \"http://b/\"\n", 6, 8,
                     "duplicate receiver name 'am'");
  config_should_fail("[[receivers]]\nname = \"pd\"\ntype = \"pagerduty\"\n", 1, 1,
                     "has no 'routing_key'");
  config_should_fail("[[receivers]]\nname = \"pd\"\ntype = \"pagerduty\"\nrouting_key_file = "
                     "\"/nonexistent/pd\"\n",
                     4, 20, "routing_key_file: cannot read /nonexistent/pd");
  config_should_fail("[[receivers]]\nname = \"chat\"\ntype = \"slack\"\nurl_file = "
                     "\"/nonexistent/slack\"\n",
                     4, 12, "url_file: cannot read /nonexistent/slack");
  config_should_fail(am + "url = \"http://a/\"\ntimeout = \"1h\"\n", 5, 11, "between 100ms and 5m");
  config_should_fail("[alerting]\nfailure_threshold = 0\n", 2, 21, "failure_threshold");
  config_should_fail("[alerting]\nresend_interval = \"10ms\"\n", 2, 19, "at least 1s");
  config_should_fail(std::string(kCheck) + "[alerting]\ncanary = \"gateway\"\n", 6, 10,
                     "canary 'gateway' is not the name of a check");
  config_should_fail("[alerting]\nfailure_treshold = 3\n", 2, 1,
                     "(did you mean 'failure_threshold'?)");
}
