// Config loading: every error kind with its exact line and column (toml++'s should_fail
// style), and the values a valid file produces.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "config/loader.h"
#include "tests/config/config_helpers.h"
#include "probes/http/http_spec.h"
#include "probes/probe.h"

using namespace probed;
using namespace probed::test;

namespace {

const char* kHead = "[[checks]]\nname = \"api\"\ntype = \"http\"\n";

}  // namespace

TEST_CASE("config: a valid file loads with defaults applied", "[config]") {
  auto r = load(R"([daemon]
listen = "127.0.0.1:19465"
location = "edge-fra-1"
max_inflight = 100
shard = "1/3"

[defaults]
interval = "20s"
labels = { team = "platform" }
  [defaults.http]
  valid_status = ["2xx", 301]

[[checks]]
name = "api-health"
type = "http"
targets = ["https://127.0.0.1:8443/healthz", "http://localhost:8080/"]
interval = "15s"
labels = { tier = "1" }
  [checks.http]
  method = "post"
  headers = { Accept = "application/json" }
  body_contains = ["ok"]
  json = [{ pointer = "/status", equals = "up" }]
  max_duration = "800ms"

[[checks]]
name = "inherits"
type = "http"
targets = ["http://127.0.0.1/"]
)");
  INFO(all(r));
  REQUIRE(r.ok());
  const auto& c = *r.config;
  CHECK(c.daemon.listen == "127.0.0.1:19465");
  CHECK(c.daemon.location == "edge-fra-1");
  CHECK(c.daemon.max_inflight == 100);
  CHECK(c.daemon.shard_index == 1);
  CHECK(c.daemon.shard_count == 3);
  REQUIRE(c.checks.size() == 2);
  const auto& api = c.checks[0];
  CHECK(api.interval == std::chrono::seconds(15));
  CHECK(api.timeout == std::chrono::seconds(10));
  CHECK(api.labels == config::Labels{{"team", "platform"}, {"tier", "1"}});
  CHECK(api.targets.size() == 2);
  auto spec = std::static_pointer_cast<const probes::HttpSpec>(api.spec);
  CHECK(spec->method == "POST");
  CHECK(spec->assertions.status().matches(301));  // from [defaults.http]
  const auto& inh = c.checks[1];
  CHECK(inh.interval == std::chrono::seconds(20));
  CHECK(inh.timeout == std::chrono::seconds(10));
}

TEST_CASE("config: unset timeout stays below a short interval", "[config]") {
  auto r = load(std::string(kHead) + "targets = [\"http://127.0.0.1/\"]\ninterval = \"5s\"\n");
  REQUIRE(r.ok());
  CHECK(r.config->checks[0].timeout == std::chrono::milliseconds(4500));
}

TEST_CASE("config: every error kind points at its line and column", "[config]") {
  SECTION("TOML syntax") {
    config_should_fail("[daemon]\nlisten = \"127.0.0.1:1\n", 2, 22, "");
  }
  SECTION("unknown key, with did-you-mean") {
    config_should_fail(std::string(kHead) + "targets = [\"http://a/\"]\ntiemout = \"5s\"\n", 5, 1,
                       "unknown key 'tiemout' in check 'api' (did you mean 'timeout'?)");
  }
  SECTION("unknown key in [checks.http]") {
    config_should_fail(std::string(kHead) + "targets = [\"http://a/\"]\n[checks.http]\nvalid_stauts = [200]\n",
                       6, 1, "did you mean 'valid_status'?");
  }
  SECTION("unknown key in [daemon]") {
    config_should_fail("[daemon]\nlisten = \"127.0.0.1:1\"\nlisetn = 3\n", 3, 1, "unknown key 'lisetn'");
  }
  SECTION("wrong type") {
    config_should_fail(std::string(kHead) + "targets = \"http://a/\"\n", 4, 11,
                       "'targets' must be an array of strings, not string");
  }
  SECTION("bad duration") {
    config_should_fail(std::string(kHead) + "targets = [\"http://a/\"]\ninterval = \"10x\"\n", 5, 12,
                       "unknown unit 'x'");
  }
  SECTION("timeout >= interval points at the later key") {
    config_should_fail(std::string(kHead) + "targets = [\"http://a/\"]\ninterval = \"5s\"\ntimeout = \"5s\"\n",
                       6, 11, "'timeout' (5s) must be less than 'interval' (5s)");
    config_should_fail(std::string(kHead) + "targets = [\"http://a/\"]\ntimeout = \"9s\"\ninterval = \"5s\"\n",
                       6, 12, "must be less than 'interval'");
  }
  SECTION("duplicate check name") {
    std::string c = std::string(kHead) + "targets = [\"http://a/\"]\n";
    config_should_fail(c + c, 6, 8, "duplicate check name 'api'");
  }
  SECTION("bad regex") {
    config_should_fail(std::string(kHead) + "targets = [\"http://a/\"]\n[checks.http]\nbody_regex = [\"ok\", \"(x\"]\n",
                       6, 21, "invalid regex \"(x\"");
  }
  SECTION("bad JSON pointer") {
    config_should_fail(std::string(kHead) +
                           "targets = [\"http://a/\"]\n[checks.http]\njson = [{ pointer = \"status\", equals = \"up\" }]\n",
                       6, 21, "invalid JSON pointer \"status\"");
  }
  SECTION("unreadable secret file") {
    config_should_fail(std::string(kHead) +
                           "targets = [\"http://a/\"]\n[checks.http]\nbearer_token_file = \"/nonexistent/token\"\n",
                       6, 21, "bearer_token_file: cannot read /nonexistent/token");
    config_should_fail(std::string(kHead) +
                           "targets = [\"http://a/\"]\n[checks.http]\nheaders = { X = \"${file:/nonexistent/x}\" }\n",
                       6, 17, "cannot read /nonexistent/x");
  }
  SECTION("unset environment variable") {
    config_should_fail(std::string(kHead) + "targets = [\"http://a/\"]\n[checks.http]\nbody = \"${env:PROBED_SURELY_UNSET}\"\n",
                       6, 8, "environment variable 'PROBED_SURELY_UNSET' is not set");
  }
  SECTION("invalid URL") {
    config_should_fail(std::string(kHead) + "targets = [\"http://a/\", \"ftp://b/\"]\n", 4, 25,
                       "scheme must be http or https");
    config_should_fail(std::string(kHead) + "targets = [\"not a url\"]\n", 4, 12, "invalid URL");
  }
  SECTION("unknown check type") {
    config_should_fail("[[checks]]\nname = \"x\"\ntype = \"htp\"\ntargets = [\"a\"]\n", 3, 8,
                       "unknown check type 'htp' (one of http, dns, tcp, tls, cert_file, journey)");
  }
  SECTION("reserved and invalid label names") {
    config_should_fail(std::string(kHead) + "targets = [\"http://a/\"]\nlabels = { target = \"x\" }\n", 5, 10,
                       "label name 'target' is reserved");
    config_should_fail(std::string(kHead) + "targets = [\"http://a/\"]\nlabels = { \"a-b\" = \"x\" }\n", 5, 10,
                       "not a valid Prometheus label name");
  }
  SECTION("bad shard and listen") {
    config_should_fail("[daemon]\nshard = \"3/3\"\n", 2, 9, "'shard' must be \"i/n\"");
    config_should_fail("[daemon]\nlisten = \"9465\"\n", 2, 10, "'listen' must be HOST:PORT");
  }
  SECTION("another type's table under a check") {
    config_should_fail(std::string(kHead) + "targets = [\"http://a/\"]\n[checks.dns]\nrecord = \"A\"\n", 5, 9,
                       "[checks.dns] does not apply to check 'api' of type 'http'");
  }
  SECTION("a check without targets") {
    config_should_fail(std::string(kHead), 1, 1, "check 'api' has no 'targets'");
  }
  SECTION("unknown receiver") {
    config_should_fail(std::string(kHead) + "targets = [\"http://a/\"]\nalert_receivers = [\"am\"]\n", 5, 19,
                       "unknown receiver 'am'");
  }
}

TEST_CASE("config: all errors are reported at once, sorted", "[config]") {
  auto r = load(std::string(kHead) + "targets = [\"ftp://x/\"]\ninterval = \"1y\"\nfoo = 1\n");
  REQUIRE_FALSE(r.ok());
  auto d = r.diags.sorted();
  REQUIRE(d.size() == 3);
  CHECK(d[0].pos.line == 4);
  CHECK(d[1].pos.line == 5);
  CHECK(d[2].pos.line == 6);
}

TEST_CASE("config: ${env:} and ${file:} expand and $${ is a literal", "[config][secrets]") {
  setenv("PROBED_TEST_TOKEN", "env-canary-4711", 1);
  std::string path = "/tmp/probed-config-test-secret";
  std::ofstream(path) << "file-canary-4712\n";
  auto r = load(std::string(kHead) + "targets = [\"http://a/\"]\n[checks.http]\n"
                                     "headers = { X-Token = \"${env:PROBED_TEST_TOKEN}\", X-F = \"${file:" + path + "}\" }\n"
                                     "body = \"$${literal}\"\n");
  INFO(all(r));
  REQUIRE(r.ok());
  auto spec = std::static_pointer_cast<const probes::HttpSpec>(r.config->checks[0].spec);
  CHECK(spec->headers == config::StringMap{{"X-F", "file-canary-4712"}, {"X-Token", "env-canary-4711"}});
  CHECK(spec->body == "${literal}");
}

TEST_CASE("config: a rotated secret file changes only its own check's fingerprint", "[config][secrets]") {
  // A reload keeps a check whose fingerprint is unchanged (its schedule and counters): a new
  // token in a secret file must still count as a change, for its check alone.
  const std::string token = "/tmp/probed-config-test-token", header = "/tmp/probed-config-test-header";
  auto check = [](const std::string& name, const std::string& http) {
    return "[[checks]]\nname = \"" + name + "\"\ntype = \"http\"\ntargets = [\"http://127.0.0.1/\"]\n[checks.http]\n" + http;
  };
  const std::string text = check("a", "bearer_token_file = \"" + token + "\"\n") + check("b", "") +
                           check("c", "headers = { X-Key = \"${file:" + header + "}\" }\n");
  auto fingerprints = [&] {
    auto r = load(text);
    INFO(all(r));
    REQUIRE(r.ok());
    std::vector<std::string> out;
    for (const auto& c : r.config->checks) out.push_back(c.fingerprint);
    return out;
  };
  std::ofstream(token) << "token-one\n";
  std::ofstream(header) << "key-one\n";
  auto first = fingerprints();
  CHECK(fingerprints() == first);  // nothing changed
  std::ofstream(token) << "token-two\n";
  auto token_rotated = fingerprints();
  CHECK(token_rotated[0] != first[0]);
  CHECK(token_rotated[1] == first[1]);
  CHECK(token_rotated[2] == first[2]);
  std::ofstream(header) << "key-two\n";
  auto header_rotated = fingerprints();
  CHECK(header_rotated[0] == token_rotated[0]);
  CHECK(header_rotated[1] == first[1]);
  CHECK(header_rotated[2] != first[2]);
  for (const auto& f : header_rotated) {
    CHECK(f.find("token-") == std::string::npos);  // a hash of the secret, not the secret
    CHECK(f.find("key-") == std::string::npos);
  }
}

TEST_CASE("config: targets_file reads Prometheus file_sd JSON", "[config]") {
  std::string path = "/tmp/probed-config-test-targets.json";
  std::ofstream(path) << R"([{"targets": ["http://127.0.0.1:1/", "http://127.0.0.1:2/"], "labels": {"env": "prod", "__meta_x": "dropped"}}])";
  auto r = load(std::string(kHead) + "targets_file = \"" + path + "\"\n");
  INFO(all(r));
  REQUIRE(r.ok());
  const auto& t = r.config->checks[0].targets;
  REQUIRE(t.size() == 2);
  CHECK(t[0].labels == config::Labels{{"env", "prod"}});
  std::ofstream(path) << "[{\"targets\": 3}]";
  config_should_fail(std::string(kHead) + "targets_file = \"" + path + "\"\n", 4, 16, "'targets' must be an array");
}

TEST_CASE("config: the embedded default config is valid", "[config]") {
  auto r = config::load_config_text(config::default_config_text(), "<default>", "/",
                                    probes::config_probe_types());
  INFO(all(r));
  REQUIRE(r.ok());
  CHECK(r.config->daemon.listen == "127.0.0.1:9465");
  CHECK(r.config->checks.size() >= 2);
}
