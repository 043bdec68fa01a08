// Issue 7 (secrets): canary values in every secret field this version has (bearer token file,
// basic-auth password file and inline password, a header from ${env:}, a target URL carrying a
// ${env:} token, a journey's step url, header and body, a receiver header from ${env:}, a Slack
// URL from url_file, a PagerDuty routing key from routing_key_file) never appear in logs at
// debug level, /metrics, `probed probe` traces, `probed check-config` output, alert payloads
// (but where they belong: the webhook's own header, PagerDuty's own key), the alert state file,
// the status page or /api/v1/*.
#include <catch2/catch.hpp>

#include <csignal>
#include <fstream>
#include <thread>

#include "tests/e2e/e2e.h"
#include "tests/harness/ports.h"
#include "tests/harness/process.h"
#include "tests/harness/recording_server.h"

using namespace probed::testing;
using namespace std::chrono_literals;

namespace {

const std::vector<std::string> kCanaries = {"canary-bearer-7f3a9", "canary-basic-b81c2",
                                            "canary-inline-44d0e", "canary-header-e5c71",
                                            "canary-url-9a2b6", "canary-hook-0c9d1",
                                            "canary-slack-6e2f8", "canary-pd-31ab7"};


void no_canary_in(const std::string& where, const std::string& text,
                  const std::string& allowed = "") {
  for (const auto& c : kCanaries) {
    if (c == allowed) continue;
    INFO(where << " contains " << c << ":\n" << text.substr(0, 4000));
    CHECK(text.find(c) == std::string::npos);
  }
}

}  // namespace

TEST_CASE("e2e: secret values never appear in logs, metrics, traces or check-config", "[e2e][secrets]") {
  TempDir dir("probed-secrets");
  write_file(dir.file("token"), kCanaries[0] + "\n");
  write_file(dir.file("pw"), kCanaries[1] + "\n");
  const int port = free_port();
  const int closed = free_port();
  const std::string listen = "127.0.0.1:" + std::to_string(port);
  RecordingServer hook, pd;
  write_file(dir.file("slack-url"), "http://127.0.0.1:" + std::to_string(closed) + "/services/" +
                                        kCanaries[6] + "\n");
  write_file(dir.file("pd-key"), kCanaries[7] + "\n");
  std::ofstream(dir.file("probed.toml"))
      << "[daemon]\nlisten = \"" << listen << "\"\nstate_dir = \"" << dir.file("state") << "\"\n"
      << "[defaults]\ninterval = \"1s\"\ntimeout = \"500ms\"\n"
      << "[alerting]\nfailure_threshold = 1\n"
      << "[[receivers]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"" << hook.url() << "\"\n"
      << "headers = { X-Token = \"${env:PROBED_HOOK_CANARY}\" }\n"
      << "[[receivers]]\nname = \"chat\"\ntype = \"slack\"\nurl_file = \"" << dir.file("slack-url") << "\"\n"
      << "[[receivers]]\nname = \"pd\"\ntype = \"pagerduty\"\nurl = \"" << pd.url("/v2/enqueue") << "\"\n"
      << "routing_key_file = \"" << dir.file("pd-key") << "\"\n"
      << "[[checks]]\nname = \"bearer\"\ntype = \"http\"\ntargets = [\"http://" << listen
      << "/-/healthy?token=${env:PROBED_URL_CANARY}\"]\n"
      << "[checks.http]\nbearer_token_file = \"" << dir.file("token") << "\"\n"
      << "headers = { X-Api-Key = \"${env:PROBED_HEADER_CANARY}\" }\n"
      << "[[checks]]\nname = \"basic\"\ntype = \"http\"\ntargets = [\"http://127.0.0.1:" << closed
      << "/?t=${env:PROBED_URL_CANARY}\"]\nalert_receivers = [\"hook\", \"chat\", \"pd\"]\n"
      << "[checks.http]\nbasic_auth = { username = \"u\", password_file = \"" << dir.file("pw") << "\" }\n"
      << "[[checks]]\nname = \"inline\"\ntype = \"http\"\ntargets = [\"http://" << listen << "/-/ready\"]\n"
      << "[checks.http]\nbasic_auth = { username = \"u\", password = \"" << kCanaries[2] << "\" }\n"
      // A journey with secrets in a step's url, header and body, an extracted value, and a
      // failing second step whose URL (quoted in the message) holds a secret.
      << "[[checks]]\nname = \"walk\"\ntype = \"journey\"\n[checks.journey]\nvariables = { base = \"http://"
      << listen << "\" }\n[[checks.journey.steps]]\nname = \"login\"\n"
      << "url = \"${base}/-/healthy?k=${env:PROBED_URL_CANARY}\"\n"
      << "headers = { X-Key = \"${env:PROBED_HEADER_CANARY}\" }\n"
      << "body = '{\"pw\":\"${file:" << dir.file("pw") << "}\"}'\n"
      << "extract = { ct = \"header:Content-Type\" }\n"
      << "[[checks.journey.steps]]\nname = \"down\"\n"
      << "url = \"http://127.0.0.1:" << closed << "/?t=${env:PROBED_URL_CANARY}&c=${ct}\"\n";
  std::vector<std::string> env = {"PROBED_HEADER_CANARY=" + kCanaries[3],
                                  "PROBED_URL_CANARY=" + kCanaries[4],
                                  "PROBED_HOOK_CANARY=" + kCanaries[5]};
  ProcessOptions po;
  po.stderr_path = dir.file("probed.log");
  po.env = env;
  auto daemon = Process::spawn({probed_bin(), "--log-level", "debug", "run", "-c", dir.file("probed.toml")}, po);
  REQUIRE(wait_for_tcp("127.0.0.1", port, 10s));
  std::this_thread::sleep_for(2500ms);
  int rc = 0;
  auto metrics = Process::run_capture({"curl", "-s", "http://" + listen + "/metrics"}, &rc);
  CHECK_THAT(metrics, Catch::Contains("check=\"basic\""));
  CHECK_THAT(metrics, Catch::Contains("probe_journey_step_success{check=\"walk\""));
  no_canary_in("/metrics", metrics);
  // The status page and its JSON API show the same checks, targets and messages.
  for (const char* path : {"/", "/api/v1/checks", "/api/v1/certs"}) {
    auto page = Process::run_capture({"curl", "-s", "http://" + listen + path}, &rc);
    CHECK_THAT(page, Catch::Contains(std::string(path) == "/api/v1/certs" ? "certs" : "basic"));
    no_canary_in(path, page);
  }

  // The failing check's alert went out; its target's token is masked in the payloads.
  REQUIRE(hook.wait_for(1, 10s));
  REQUIRE(pd.wait_for(1, 10s));
  auto hook_req = hook.requests().at(0);
  CHECK_THAT(hook_req.body, Catch::Contains("ProbeFailed"));
  CHECK(hook_req.header("X-Token") == kCanaries[5]);  // where it belongs
  no_canary_in("the webhook payload", hook_req.body);
  auto pd_req = pd.requests().at(0);
  CHECK_THAT(pd_req.body, Catch::Contains(kCanaries[7]));  // PagerDuty's own routing key
  no_canary_in("the PagerDuty payload", pd_req.body, kCanaries[7]);

  // The same environment for the CLI runs.
  for (const auto& e : env) putenv(const_cast<char*>(e.c_str()));
  for (const char* check : {"bearer", "basic", "inline", "walk"}) {
    auto trace = Process::run_capture({probed_bin(), "--log-level", "debug", "probe", "-c",
                                       dir.file("probed.toml"), check}, &rc);
    CHECK_THAT(trace, Catch::Contains("verdict:"));
    no_canary_in(std::string("probed probe ") + check, trace);
    // The twin: the journey's secrets and its extracted value are in its trace, masked.
    if (std::string(check) == "walk") CHECK_THAT(trace, Catch::Contains("?t=<secret>&c=${ct}"));
  }
  auto checked = Process::run_capture({probed_bin(), "check-config", "-c", dir.file("probed.toml")}, &rc);
  no_canary_in("check-config", checked);
  // A bad config whose error sits next to a secret.
  std::ofstream(dir.file("bad.toml")) << "[[checks]]\nname = \"x\"\ntype = \"http\"\ntargets = [\"http://a/\"]\n"
                                      << "[checks.http]\nbody = \"${env:PROBED_HEADER_CANARY}\"\nbodyy = 1\n";
  auto bad = Process::run_capture({probed_bin(), "check-config", "-c", dir.file("bad.toml")}, &rc);
  CHECK(rc == 1);
  no_canary_in("check-config of a bad file", bad);

  daemon.signal(SIGHUP);  // a reload logs too
  std::this_thread::sleep_for(1500ms);
  daemon.signal(SIGTERM);
  CHECK(daemon.wait_exit(10s) == 0);
  auto log = read_file(dir.file("probed.log"));
  CHECK_THAT(log, Catch::Contains("receiver=chat"));  // the Slack URL is down and logged, masked
  no_canary_in("the daemon's log", log);
  auto state = read_file(dir.file("state/alert-state.json"));
  CHECK_THAT(state, Catch::Contains("ProbeFailed"));
  no_canary_in("the alert state file", state);
}
