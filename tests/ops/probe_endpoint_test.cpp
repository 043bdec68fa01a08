// GET /probe without a network: [probe_endpoint] config, every refusal the HTTP thread makes
// before anything is posted to the loop, the timeout rule, and the unlabelled answer.
#include <catch2/catch.hpp>

#include <sstream>

#include "config/loader.h"
#include "daemon/io/ares_channel.h"
#include "daemon/io/curl_multi.h"
#include "daemon/probe_endpoint.h"
#include "exporters/metrics/result_gauges.h"
#include "probes/metric_names.h"
#include "probes/probe.h"

using namespace probed;
using namespace std::chrono_literals;

namespace {

config::LoadResult load(const std::string& text) {
  return config::load_config_text(text, "t.toml", "/tmp", probes::config_probe_types());
}

std::string errors(const config::LoadResult& r) {
  std::ostringstream ss;
  r.diags.print(ss);
  return ss.str();
}

const char* kChecks =
    "[[checks]]\nname = \"web\"\ntype = \"http\"\ntargets = []\n"
    "[[checks]]\nname = \"port\"\ntype = \"tcp\"\ntargets = []\n";

// The endpoint with a loop nobody runs: a request that reached the loop would time out (503),
// so any other answer proves it was decided on the HTTP thread.
struct Fixture {
  std::unique_ptr<io::Loop> loop = std::move(*io::Loop::create());
  std::unique_ptr<io::CurlMulti> curl = std::move(*io::CurlMulti::create(*loop));
  io::AresPool ares{*loop};
  probes::Services services{*loop, *curl, ares, nullptr};
  daemon::OneShotRunner runner{services};
  daemon::ProbeEndpoint endpoint{*loop, runner};

  daemon::HttpAnswer ask(const std::string& toml, std::string module, std::string target) {
    auto r = load(toml);
    INFO(errors(r));
    REQUIRE(r.ok());
    endpoint.set_config(r.config);
    daemon::ProbeRequest req;
    req.module = std::move(module);
    req.target = std::move(target);
    req.scrape_timeout_s = 0.6;  // keeps a wrongly posted run short
    return endpoint.handle(req);
  }
};

}  // namespace

TEST_CASE("probe endpoint: config reads enabled and compiles allowed_targets", "[probe_endpoint][config]") {
  auto r = load("[probe_endpoint]\nenabled = true\nallowed_targets = [\"^https://[a-z.]+\\\\.example\\\\.com/\"]\n");
  INFO(errors(r));
  REQUIRE(r.ok());
  CHECK(r.config->probe_endpoint.enabled);
  CHECK(r.config->probe_endpoint.allows("https://api.example.com/healthz"));
  CHECK_FALSE(r.config->probe_endpoint.allows("https://evil.test/?x=https://api.example.com/"));
  CHECK_FALSE(load("").config->probe_endpoint.enabled);  // off by default
}

TEST_CASE("probe endpoint: bad settings are positioned errors", "[probe_endpoint][config]") {
  auto bad_regex = load("[probe_endpoint]\nenabled = true\nallowed_targets = [\"^ok\", \"(unclosed\"]\n");
  CHECK_FALSE(bad_regex.ok());
  CHECK_THAT(errors(bad_regex), Catch::Contains("t.toml:3:27: invalid regex \"(unclosed\""));
  auto unknown = load("[probe_endpoint]\nenabeld = true\n");
  CHECK_FALSE(unknown.ok());
  CHECK_THAT(errors(unknown), Catch::Contains("t.toml:2:1: unknown key 'enabeld'"));
  auto not_bool = load("[probe_endpoint]\nenabled = \"yes\"\n");
  CHECK_FALSE(not_bool.ok());
  CHECK_THAT(errors(not_bool), Catch::Contains("t.toml:2:11:"));
}

TEST_CASE("probe endpoint: refusals are decided without running anything", "[probe_endpoint]") {
  Fixture f;
  const std::string on = std::string("[probe_endpoint]\nenabled = true\nallowed_targets = [\"^http://127\\\\.0\\\\.0\\\\.1:9/\", \"^127\\\\.0\\\\.0\\\\.1:9$\"]\n") + kChecks;
  SECTION("disabled: 404") {
    CHECK(f.ask(kChecks, "web", "http://127.0.0.1:9/").status == 404);
  }
  SECTION("unknown module: 400 naming it") {
    auto a = f.ask(on, "nope", "http://127.0.0.1:9/");
    CHECK(a.status == 400);
    CHECK_THAT(a.body, Catch::Contains("unknown module \"nope\""));
  }
  SECTION("missing target: 400") { CHECK(f.ask(on, "web", "").status == 400); }
  SECTION("target outside allowed_targets: 403") {
    CHECK(f.ask(on, "web", "http://10.1.2.3/").status == 403);
    CHECK(f.ask(on, "web", "http://127.0.0.1:90/").status == 403);  // the pattern's slash
  }
  SECTION("allowed but not a target of that type: 400") {
    CHECK(f.ask(on, "port", "http://127.0.0.1:9/").status == 400);
  }
  SECTION("allowed and valid: posted to the loop (which nobody runs here, so 503)") {
    CHECK(f.ask(on, "web", "http://127.0.0.1:9/").status == 503);
  }
}

TEST_CASE("probe endpoint: the scrape timeout header lowers the check's timeout", "[probe_endpoint]") {
  CHECK(daemon::probe_timeout(10s, std::nullopt) == 10s);
  CHECK(daemon::probe_timeout(10s, 3.0) == 2500ms);
  CHECK(daemon::probe_timeout(2s, 30.0) == 2s);
  CHECK(daemon::probe_timeout(10s, 0.4) == 200ms);
}

TEST_CASE("probe endpoint: the answer is one run's metrics without series labels", "[probe_endpoint]") {
  config::CheckConfig c;
  c.name = "web";
  c.type = "http";
  auto r = probes::Result::fail(probes::FailureReason::Status, "HTTP 500");
  r.duration = 120ms;
  r.add_sample(names::kHttpStatusCode, 500);
  r.add_phase("connect", 1ms);
  r.add_phase("transfer", 2ms);
  std::ostringstream out;
  exporters::write_probe_answer(out, c, r);
  const std::string text = out.str();
  CHECK_THAT(text, Catch::Contains("\nprobe_success 0\n"));
  CHECK_THAT(text, Catch::Contains("\nprobe_duration_seconds 0.12\n"));
  CHECK_THAT(text, Catch::Contains("\nprobe_http_status_code 500\n"));
  CHECK_THAT(text, Catch::Contains("probe_http_duration_seconds{phase=\"connect\"} 0.001"));
  CHECK(text.find("check=") == std::string::npos);
  CHECK(text.find("probe_runs_total") == std::string::npos);
  // One TYPE line per family even with several phases.
  size_t types = 0;
  for (size_t at = 0; (at = text.find("# TYPE probe_http_duration_seconds", at)) != std::string::npos; ++at) ++types;
  CHECK(types == 1);
}
