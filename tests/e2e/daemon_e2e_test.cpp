// End to end on the real binary: `probed probe` traces and exit codes, reload by SIGHUP and
// POST /-/reload (a bad config is rejected with positions and the old one keeps running),
// targets_file re-reads, health endpoints, and a clean exit on SIGTERM.
#include <catch2/catch.hpp>

#include <csignal>
#include <fstream>
#include <thread>

#include "tests/e2e/e2e.h"
#include "tests/harness/ports.h"
#include "tests/harness/process.h"

using namespace probed::testing;
using namespace std::chrono_literals;

namespace {

std::string run(std::vector<std::string> argv, int* code) {
  return Process::run_capture(std::move(argv), code, std::chrono::seconds(30));
}

std::string http(const std::string& args, int* code = nullptr) {
  int rc = 0;
  auto out = run({"/bin/sh", "-c", "curl -s " + args}, &rc);
  if (code != nullptr) *code = rc;
  return out;
}

// Polls until pred(metrics text) holds or 10 s pass.
bool eventually(const std::string& url, const std::function<bool(const std::string&)>& pred) {
  for (int i = 0; i < 100; ++i) {
    if (pred(http(url))) return true;
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

struct Daemon {
  TempDir dir{"probed-daemon-e2e"};
  int port = free_port();
  std::string listen = "127.0.0.1:" + std::to_string(port);
  std::string base = "http://" + listen;
  Process proc;

  void write_config(const std::string& checks) {
    std::ofstream(dir.file("probed.toml")) << "[daemon]\nlisten = \"" << listen << "\"\n"
                                           << "targets_file_reload = \"1s\"\n"
                                           << "state_dir = \"" << dir.path() << "\"\n"
                                           << "[defaults]\ninterval = \"1s\"\ntimeout = \"500ms\"\n"
                                           << checks;
  }
  void start() {
    ProcessOptions po;
    po.stderr_path = dir.file("probed.log");
    proc = Process::spawn({probed_bin(), "run", "-c", dir.file("probed.toml")}, po);
    REQUIRE(wait_for_tcp("127.0.0.1", port, 10s));
  }
  std::string log() const { return read_file(dir.file("probed.log")); }
};

std::string http_check(const std::string& name, const std::string& target) {
  return "[[checks]]\nname = \"" + name + "\"\ntype = \"http\"\ntargets = [\"" + target + "\"]\n";
}

}  // namespace

TEST_CASE("e2e: probed probe prints a trace and exits 0 on success, 1 on failure", "[e2e][cli]") {
  Daemon d;
  int closed = free_port();
  d.write_config(http_check("self", d.base + "/-/healthy") +
                 http_check("down", "http://127.0.0.1:" + std::to_string(closed) + "/"));
  d.start();
  int code = -1;
  auto ok = run({probed_bin(), "probe", "-c", d.dir.file("probed.toml"), "self"}, &code);
  INFO(ok);
  CHECK(code == 0);
  CHECK_THAT(ok, Catch::Contains("verdict: SUCCESS"));
  CHECK_THAT(ok, Catch::Contains("< HTTP/1.1 200"));
  auto bad = run({probed_bin(), "probe", "-c", d.dir.file("probed.toml"), "down"}, &code);
  INFO(bad);
  CHECK(code == 1);
  CHECK_THAT(bad, Catch::Contains("verdict: FAILURE reason=connect"));
  auto missing = run({probed_bin(), "probe", "-c", d.dir.file("probed.toml"), "nope"}, &code);
  CHECK(code == 2);
  CHECK_THAT(missing, Catch::Contains("no check named 'nope'"));
  auto adhoc = run({probed_bin(), "probe", "--type", "http", d.base + "/metrics", "--set",
                    "body_contains=[\"probed_build_info\"]", "--set", "timeout=2s"}, &code);
  INFO(adhoc);
  CHECK(code == 0);
  CHECK_THAT(adhoc, Catch::Contains("ok   body contains \"probed_build_info\""));
}

TEST_CASE("e2e: health endpoints answer and SIGTERM exits 0", "[e2e]") {
  Daemon d;
  d.write_config(http_check("self", d.base + "/-/healthy"));
  d.start();
  CHECK(http(d.base + "/-/healthy") == "OK\n");
  CHECK(http(d.base + "/-/ready") == "OK\n");
  CHECK(http("-o /dev/null -w '%{http_code}' " + d.base + "/-/reload") == "405");
  d.proc.signal(SIGTERM);
  CHECK(d.proc.wait_exit(10s) == 0);
  CHECK_THAT(d.log(), Catch::Contains("probed stopped"));
}

TEST_CASE("e2e: reload keeps counters of unchanged checks, drops removed ones, rejects bad configs",
          "[e2e][reload]") {
  Daemon d;
  const std::string keep = http_check("keep", d.base + "/-/healthy");
  const std::string gone = http_check("gone", d.base + "/-/ready");
  d.write_config(keep + gone);
  d.start();
  const std::string metrics = d.base + "/metrics";
  REQUIRE(eventually(metrics, [](const std::string& m) {
    return m.find("probe_runs_total{check=\"keep\",target=\"http://127.0.0.1") != std::string::npos &&
           m.find("probe_success{check=\"keep\"") != std::string::npos;
  }));
  std::this_thread::sleep_for(2s);  // a few runs, so the counter is > 1

  // An invalid config: 400 with positions, the old config keeps running.
  d.write_config(keep + gone + "interval = \"10x\"\n");
  int rc = 0;
  auto answer = http("-X POST -w ' %{http_code}' " + d.base + "/-/reload", &rc);
  CHECK_THAT(answer, Catch::Contains("probed.toml:16:12: 'interval': invalid duration"));
  CHECK_THAT(answer, Catch::EndsWith(" 400"));
  CHECK_THAT(http(metrics), Catch::Contains("probed_config_last_reload_successful 0"));
  CHECK_THAT(http(metrics), Catch::Contains("check=\"gone\""));

  // A valid one without "gone": its series disappear, "keep" keeps counting from where it was.
  auto runs_of_keep = [&] {
    auto m = http(metrics);
    auto at = m.find("probe_runs_total{check=\"keep\"");
    REQUIRE(at != std::string::npos);
    auto sp = m.find("} ", at);
    return std::stod(m.substr(sp + 2, m.find('\n', sp) - sp - 2));
  };
  double before = runs_of_keep();
  CHECK(before >= 2);
  d.write_config(keep);
  d.proc.signal(SIGHUP);
  CHECK(eventually(metrics, [](const std::string& m) {
    return m.find("check=\"gone\"") == std::string::npos &&
           m.find("probed_config_last_reload_successful 1") != std::string::npos;
  }));
  CHECK(runs_of_keep() >= before);
}

TEST_CASE("e2e: targets_file changes are picked up without a reload", "[e2e][reload]") {
  Daemon d;
  const std::string file = d.dir.file("targets.json");
  std::ofstream(file) << R"([{"targets": [")" << d.base << R"(/-/healthy"], "labels": {"env": "a"}}])";
  d.write_config("[[checks]]\nname = \"fsd\"\ntype = \"http\"\ntargets_file = \"" + file + "\"\n");
  d.start();
  const std::string metrics = d.base + "/metrics";
  REQUIRE(eventually(metrics, [](const std::string& m) {
    return m.find("probe_success{check=\"fsd\",env=\"a\"") != std::string::npos;
  }));
  std::ofstream(file) << R"([{"targets": [")" << d.base << R"(/-/ready"], "labels": {"env": "b"}}])";
  CHECK(eventually(metrics, [&](const std::string& m) {
    return m.find("probe_success{check=\"fsd\",env=\"b\",target=\"" + d.base + "/-/ready\"") != std::string::npos &&
           m.find("/-/healthy\"") == std::string::npos;
  }));
  // A broken file keeps the old targets.
  std::ofstream(file) << "not json";
  std::this_thread::sleep_for(2500ms);
  CHECK_THAT(http(metrics), Catch::Contains("env=\"b\""));
  CHECK_THAT(d.log(), Catch::Contains("targets_file not reloaded"));
}
