// The journey probe against a small real shop (tests/probes/journey_app.py, Debian's python3):
// a login that sets a cookie and returns a token, a cart that needs both, a redirect, slow and
// failing endpoints. Every passing journey has a failing twin for one way a journey can fail.
#include <catch2/catch.hpp>

#include <cstdlib>

#include "config/loader.h"
#include "daemon/base/redact.h"
#include "probes/metric_names.h"
#include "probes/probe.h"
#include "tests/harness/nginx.h"
#include "tests/harness/pki.h"
#include "tests/harness/ports.h"
#include "tests/harness/process.h"
#include "tests/probes/probe_runner.h"

using namespace probed;
using namespace probed::testing;
using probes::FailureReason;

namespace {

constexpr const char* kPassword = "hunter2-shop-secret";
constexpr const char* kEnvSecret = "env-header-secret-value";

struct Shop {
  TempDir dir{"probed-journey-test"};
  int port = free_port();
  std::string pw_file = dir.path() + "/shop-pw";
  Process app = start();

  Process start() {
    write_file(pw_file, std::string(kPassword) + "\n");
    ::setenv("PROBED_TEST_JOURNEY_HEADER", kEnvSecret, 1);
    auto p = Process::spawn({"python3", PROBED_TEST_SOURCE_DIR "/probes/journey_app.py",
                             std::to_string(port), pw_file});
    if (!wait_for_tcp("127.0.0.1", port, std::chrono::seconds(10))) {
      throw std::runtime_error("journey_app.py did not start");
    }
    return p;
  }
  std::string base() const { return "http://127.0.0.1:" + std::to_string(port); }
};

Shop& shop() {
  static Shop s;
  return s;
}

// A journey check named "shop" with base = the shop's URL; `steps` are [[checks.journey.steps]].
std::string journey(const std::string& steps, const std::string& extra = "timeout = \"5s\"\n") {
  return "[[checks]]\nname = \"shop\"\ntype = \"journey\"\n" + extra +
         "[checks.journey]\nvariables = { base = \"" + shop().base() + "\" }\n" + steps;
}

const std::string kLogin = R"J(
[[checks.journey.steps]]
name = "login"
method = "POST"
url = "${base}/api/login"
headers = { "Content-Type" = "application/json", "X-Env" = "${env:PROBED_TEST_JOURNEY_HEADER}" }
body = '{"user":"probe","password":"${file:PWFILE}"}'
valid_status = [200]
extract = { token = "json:/token", order = "regex:order-([0-9]+)", xorder = "header:X-Order" }
)J";

std::string login(const std::string& query = "", const std::string& password_file = "") {
  std::string s = kLogin;
  s.replace(s.find("PWFILE"), 6, password_file.empty() ? shop().pw_file : password_file);
  if (!query.empty()) s.replace(s.find("/api/login"), 10, "/api/login" + query);
  return s;
}

const std::string kCart = R"J(
[[checks.journey.steps]]
name = "cart"
url = "${base}/go/cart/${order}"
headers = { Authorization = "Bearer ${token}" }
json = [{ pointer = "/items/0/sku", equals = "A1" }, { pointer = "/order", equals = "42" }]
)J";

std::string step(const std::string& name, const std::string& path, const std::string& more = "") {
  return "\n[[checks.journey.steps]]\nname = \"" + name + "\"\nurl = \"${base}" + path + "\"\n" +
         more;
}

double sample(const probes::Result& r, std::string_view name, const std::string& step = "") {
  for (const auto& s : r.samples) {
    if (s.name != name) continue;
    if (step.empty() && s.labels.empty()) return s.value;
    for (const auto& [k, v] : s.labels) {
      if (k == names::kStep && v == step) return s.value;
    }
  }
  FAIL("no sample " << name << " " << step);
  return 0;
}

ProbeRun run(const std::string& toml) {
  auto r = run_check(toml);
  INFO(r.trace);
  CHECK(r.max_loop_gap < slack(std::chrono::milliseconds(100)));
  return r;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("journey: login, cookie, token and redirected cart pass end to end", "[probe][journey]") {
  auto r = run(journey(login() + kCart));
  INFO(r.trace << r.result.message);
  CHECK(r.result.success);
  CHECK(r.result.message == "all 2 steps passed");
  CHECK(sample(r.result, names::kJourneyStepSuccess, "login") == 1);
  CHECK(sample(r.result, names::kJourneyStepSuccess, "cart") == 1);
  CHECK(sample(r.result, names::kJourneyStepDuration, "login") > 0);
  CHECK(sample(r.result, names::kJourneyStepDuration, "cart") > 0);
  CHECK(sample(r.result, names::kHttpStatusCode) == 200);
  CHECK(sample(r.result, names::kHttpRedirects) == 1);
  CHECK(contains(r.trace, "step 1/2 'login'"));
  CHECK(contains(r.trace, "> POST http://127.0.0.1:"));
  CHECK(contains(r.trace, "extracted order, token, xorder"));
  CHECK(contains(r.trace, "> GET " + shop().base() + "/go/cart/${order}"));
  CHECK(contains(r.trace, "step 'cart' passed"));
}

TEST_CASE("journey: a wrong password fails the login with reason=status and skips the cart",
          "[probe][journey]") {
  std::string wrong = shop().dir.path() + "/wrong-pw";
  write_file(wrong, "not-the-password\n");
  auto r = run(journey(login("", wrong) + kCart));
  CHECK_FALSE(r.result.success);
  CHECK(r.result.reason == FailureReason::Status);
  CHECK(r.result.message == "step 'login': status 401 not in [200]");
  CHECK(sample(r.result, names::kJourneyStepSuccess, "login") == 0);
  CHECK(sample(r.result, names::kJourneyStepSuccess, "cart") == 0);
  CHECK(sample(r.result, names::kJourneyStepDuration, "cart") == 0);
  CHECK(contains(r.trace, "step 'cart' not run"));
}

TEST_CASE("journey: a step with a wrong status fails with reason=status naming the step",
          "[probe][journey]") {
  auto ok = run(journey(login() + step("health", "/status/200")));
  CHECK(ok.result.success);
  auto bad = run(journey(login() + step("health", "/status/503") + kCart));
  CHECK(bad.result.reason == FailureReason::Status);
  CHECK(bad.result.message == "step 'health': status 503 not in [2xx]");
  CHECK(sample(bad.result, names::kJourneyStepSuccess, "login") == 1);
  CHECK(sample(bad.result, names::kJourneyStepSuccess, "health") == 0);
  CHECK(sample(bad.result, names::kHttpStatusCode) == 503);
}

TEST_CASE("journey: a failed extraction fails the step with reason=extract naming the variable",
          "[probe][journey]") {
  auto json = run(journey(step("one", "/api/cart/1", "valid_status = [401]\nextract = { sid = \"json:/session\" }\n")));
  CHECK(json.result.reason == FailureReason::Extract);
  CHECK(contains(json.result.message, "step 'one': cannot extract 'sid'"));
  auto regex = run(journey(step("one", "/healthz", "extract = { n = \"regex:order-([0-9]+)\" }\n")));
  CHECK(regex.result.reason == FailureReason::Extract);
  CHECK(contains(regex.result.message, "'n'"));
  auto header = run(journey(step("one", "/healthz", "extract = { h = \"header:X-Order\" }\n")));
  CHECK(header.result.reason == FailureReason::Extract);
  CHECK(contains(header.result.message, "no header 'X-Order'"));
  auto twin = run(journey(step("one", "/api/cart/1", "valid_status = [401]\nextract = { e = \"json:/error\" }\n") +
                          step("two", "/status/200", "headers = { X-E = \"${e}\" }\n")));
  CHECK(twin.result.success);
}

TEST_CASE("journey: the whole journey shares one deadline and a slow step times out",
          "[probe][journey][timeout]") {
  auto ok = run(journey(login() + step("slow", "/slow?ms=100"), "timeout = \"2s\"\n"));
  CHECK(ok.result.success);
  auto bad = run(journey(login() + step("slow", "/slow?ms=4000") + kCart, "timeout = \"1s\"\n"));
  CHECK_FALSE(bad.result.success);
  CHECK(bad.result.reason == FailureReason::Timeout);
  CHECK(contains(bad.result.message, "step 'slow': timeout during"));
  CHECK(bad.elapsed < slack(std::chrono::milliseconds(1800)));
  CHECK(sample(bad.result, names::kJourneyStepSuccess, "login") == 1);
  CHECK(sample(bad.result, names::kJourneyStepSuccess, "slow") == 0);
  CHECK(sample(bad.result, names::kJourneyStepSuccess, "cart") == 0);
}

TEST_CASE("journey: a step slower than its max_duration fails with reason=latency",
          "[probe][journey]") {
  auto ok = run(journey(step("slow", "/slow?ms=300", "max_duration = \"3s\"\n")));
  CHECK(ok.result.success);
  auto bad = run(journey(step("slow", "/slow?ms=300", "max_duration = \"100ms\"\n")));
  CHECK(bad.result.reason == FailureReason::Latency);
  CHECK(contains(bad.result.message, "step 'slow': "));
}

TEST_CASE("journey: an expired cookie is not sent, so the cart refuses the session",
          "[probe][journey][cookie]") {
  // libcurl keeps expiry in whole seconds and drops a cookie once it is strictly past: wait
  // more than two seconds for a one-second cookie.
  auto ok = run(journey(login("?ttl=3600") + step("wait", "/slow?ms=2500") + kCart));
  CHECK(ok.result.success);
  auto bad = run(journey(login("?ttl=1") + step("wait", "/slow?ms=2500") + kCart));
  CHECK(bad.result.reason == FailureReason::Status);
  CHECK(bad.result.message == "step 'cart': status 401 not in [2xx]");
}

TEST_CASE("journey: each run starts with an empty cookie jar", "[probe][journey][cookie]") {
  // The cart needs the session cookie: without the login step, every run must fail, even
  // after a run that logged in with the same probe object.
  auto runs = run_check_repeatedly(journey(login() + kCart), 2);
  CHECK(runs[0].result.success);
  CHECK(runs[1].result.success);
  auto no_login = run(journey(step("cart", "/api/cart/42")));
  CHECK(no_login.result.reason == FailureReason::Status);
}

TEST_CASE("journey: without targets it runs once with target = the check name, with targets "
          "each target is ${target}", "[probe][journey]") {
  auto cfg = config::load_config_text(journey(step("one", "/healthz")), "t.toml", "/tmp",
                                      probes::config_probe_types());
  REQUIRE(cfg.ok());
  REQUIRE(cfg.config->checks.front().targets.size() == 1);
  CHECK(cfg.config->checks.front().targets.front().address == "shop");
  const std::string by_target = "[[checks]]\nname = \"shop\"\ntype = \"journey\"\ntargets = [\"" +
                                shop().base() + "\"]\n[checks.journey]\n" +
                                "[[checks.journey.steps]]\nname = \"one\"\nurl = \"${target}/healthz\"\n";
  CHECK(run(by_target).result.success);
  std::string wrong = by_target;
  wrong.replace(wrong.find("/healthz"), 8, "/status/404");
  CHECK(run(wrong).result.reason == FailureReason::Status);
}

namespace {

struct TlsSites {
  TempDir dir{"probed-journey-tls"};
  Pki pki{dir.path() + "/pki"};
  StandardCerts certs = make_standard_certs(pki);
  Nginx nginx{servers()};

  std::vector<NginxServer> servers() {
    return {tls_server("valid", certs.valid), tls_server("expiring", certs.expiring_3d)};
  }
  std::string step(const std::string& server) {
    return "\n[[checks.journey.steps]]\nname = \"" + server + "\"\nurl = \"https://localhost:" +
           std::to_string(nginx.port(server)) + "/healthz\"\ntls_ca_file = \"" + pki.ca_path() + "\"\n";
  }
};

TlsSites& tls_sites() {
  static TlsSites t;
  return t;
}

}  // namespace

TEST_CASE("journey: https steps report the certificate chain that expires first",
          "[probe][journey][tls]") {
  auto& t = tls_sites();
  auto valid = run(journey(t.step("valid")));
  auto expiring = run(journey(t.step("expiring")));
  REQUIRE(valid.result.success);
  REQUIRE(expiring.result.success);
  REQUIRE_FALSE(valid.result.chain.empty());
  REQUIRE_FALSE(expiring.result.chain.empty());
  const int64_t soon = expiring.result.chain.front().not_after;
  CHECK(soon < valid.result.chain.front().not_after);
  // Both orders give the earliest chain; an http step after them leaves it alone.
  auto both = run(journey(t.step("valid") + t.step("expiring") + step("plain", "/healthz")));
  CHECK(both.result.success);
  CHECK(both.result.chain.front().not_after == soon);
  CHECK(sample(both.result, names::kHttpSsl) == 0);  // of the last step, which was plain http
  auto reversed = run(journey(t.step("expiring") + t.step("valid")));
  CHECK(reversed.result.chain.front().not_after == soon);
  CHECK(sample(reversed.result, names::kHttpSsl) == 1);
}

TEST_CASE("journey: secrets never appear in the trace, the message or the samples",
          "[probe][journey][secrets]") {
  auto ok = run(journey(login() + kCart));
  auto bad = run(journey(login() + kCart + step("fail", "/status/500?pw=${env:PROBED_TEST_JOURNEY_HEADER}")));
  for (const auto* r : {&ok, &bad}) {
    INFO(r->trace);
    // Trace text is printed through redact(); the raw message and labels must not hold them.
    CHECK_FALSE(contains(r->trace, kPassword));
    CHECK_FALSE(contains(r->trace, kEnvSecret));
    CHECK_FALSE(contains(r->trace, "tok-"));  // extracted token values are never traced
    CHECK_FALSE(contains(base::redact(r->result.message), kEnvSecret));
    for (const auto& s : r->result.samples) {
      for (const auto& [k, v] : s.labels) CHECK_FALSE(contains(v, kPassword));
    }
  }
  CHECK(bad.result.reason == FailureReason::Status);
  CHECK(contains(bad.trace, "<secret>"));
}

namespace {

const std::string kHeadJ = "[[checks]]\nname = \"j\"\ntype = \"journey\"\n[checks.journey]\n"
                           "variables = { base = \"http://127.0.0.1:1\" }\n"
                           "[[checks.journey.steps]]\nname = \"a\"\n";

void journey_should_fail(const std::string& text, uint32_t line, uint32_t col, const std::string& what) {
  auto r = config::load_config_text(text, "t.toml", "/tmp", probes::config_probe_types());
  std::ostringstream all;
  r.diags.print(all);
  INFO("config:\n" << text << "\nerrors:\n" << all.str());
  REQUIRE_FALSE(r.ok());
  bool found = false;
  for (const auto& d : r.diags.sorted()) {
    if (d.pos.line == line && d.pos.col == col && d.message.find(what) != std::string::npos) found = true;
  }
  CHECK(found);
}

}  // namespace

TEST_CASE("journey config: bad steps are positioned errors", "[config][journey]") {
  const std::string url = "url = \"${base}/x\"\n";
  SECTION("an unknown extraction") {
    journey_should_fail(kHeadJ + url + "extract = { t = \"xml:/a\" }\n", 9, 17, "unknown extraction \"xml:/a\"");
  }
  SECTION("a regex without exactly one capture group") {
    journey_should_fail(kHeadJ + url + "extract = { t = \"regex:order-[0-9]+\" }\n", 9, 17,
                        "must have exactly one capture group (has 0)");
    journey_should_fail(kHeadJ + url + "extract = { t = \"regex:(a)(b)\" }\n", 9, 17, "(has 2)");
  }
  SECTION("a bad JSON pointer") {
    journey_should_fail(kHeadJ + url + "extract = { t = \"json:token\" }\n", 9, 17, "invalid JSON pointer");
  }
  SECTION("an unknown step key, with did-you-mean") {
    journey_should_fail(kHeadJ + url + "valid_stauts = [200]\n", 9, 1, "did you mean 'valid_status'?");
  }
  SECTION("an undefined variable") {
    journey_should_fail(kHeadJ + "url = \"${nope}/x\"\n", 8, 7, "undefined variable 'nope'");
    journey_should_fail(kHeadJ + url + "headers = { A = \"${tok}\" }\n", 9, 17, "undefined variable 'tok'");
  }
  SECTION("a variable extracted only by a later step") {
    journey_should_fail(kHeadJ + "url = \"${base}/${tok}\"\n[[checks.journey.steps]]\nname = \"b\"\n" + url +
                            "extract = { tok = \"json:/t\" }\n",
                        8, 7, "undefined variable 'tok'");
  }
  SECTION("a duplicate step name") {
    journey_should_fail(kHeadJ + url + "[[checks.journey.steps]]\nname = \"a\"\n" + url, 10, 8,
                        "duplicate step name 'a'");
  }
  SECTION("an unset environment variable") {
    journey_should_fail(kHeadJ + "url = \"${env:PROBED_JOURNEY_UNSET_VAR}\"\n", 8, 7, "is not set");
  }
  SECTION("a journey without steps") {
    journey_should_fail("[[checks]]\nname = \"j\"\ntype = \"journey\"\n[checks.journey]\n", 4, 1,
                        "at least one [[checks.journey.steps]]");
  }
}

TEST_CASE("journey config: defined variables, extracted ones and $${ load", "[config][journey]") {
  const std::string text = kHeadJ + "url = \"${base}/x\"\nextract = { tok = \"json:/t\" }\n" +
                           "[[checks.journey.steps]]\nname = \"b\"\nurl = \"${target}/${tok}/$${literal}\"\n";
  auto r = config::load_config_text(text, "t.toml", "/tmp", probes::config_probe_types());
  std::ostringstream all;
  r.diags.print(all);
  INFO(all.str());
  CHECK(r.ok());
  // [defaults.journey] variables are shared by every journey, and need no steps of their own.
  const std::string shared = "[defaults.journey]\nvariables = { host = \"http://127.0.0.1:1\" }\n" +
                             kHeadJ + "url = \"${host}/${base}\"\n";
  CHECK(config::load_config_text(shared, "t.toml", "/tmp", probes::config_probe_types()).ok());
  journey_should_fail(kHeadJ + "url = \"${host}/${base}\"\n", 8, 7, "undefined variable 'host'");
}
