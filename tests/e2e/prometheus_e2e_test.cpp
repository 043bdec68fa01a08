// End to end: the real daemon, scraped by a real Prometheus (Debian's `prometheus`), its
// /metrics passed through `promtool check metrics`, and Prometheus's query API showing
// probe_success for each check.
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

std::string shell(const std::string& cmd, int* code = nullptr) {
  int rc = 0;
  auto out = Process::run_capture({"/bin/sh", "-c", cmd}, &rc, std::chrono::seconds(60));
  if (code != nullptr) *code = rc;
  return out;
}

}  // namespace

TEST_CASE("e2e: Prometheus scrapes probed and promtool accepts its metrics", "[e2e]") {
  TempDir dir("probed-e2e");
  int probed_port = free_port();
  int prom_port = free_port();
  int closed_port = free_port();
  const std::string listen = "127.0.0.1:" + std::to_string(probed_port);
  std::ofstream(dir.file("probed.toml")) << "[daemon]\nlisten = \"" << listen << "\"\nlocation = \"e2e\"\n"
      << "state_dir = \"" << dir.path() << "\"\n"  // not /var/lib/probed: tests share no state
      << "[defaults]\ninterval = \"1s\"\ntimeout = \"500ms\"\n"
      << "[[checks]]\nname = \"self\"\ntype = \"http\"\ntargets = [\"http://" << listen << "/-/healthy\"]\n"
      << "[[checks]]\nname = \"down\"\ntype = \"http\"\ntargets = [\"http://127.0.0.1:" << closed_port << "/\"]\n"
      << "[[checks]]\nname = \"port\"\ntype = \"tcp\"\ntargets = [\"" << listen << "\"]\n"
      << "[[checks]]\nname = \"walk\"\ntype = \"journey\"\n[checks.journey]\nvariables = { base = \"http://"
      << listen << "\" }\n[[checks.journey.steps]]\nname = \"health\"\nurl = \"${base}/-/healthy\"\n"
      << "[[checks.journey.steps]]\nname = \"scrape\"\nurl = \"${base}/metrics\"\nbody_contains = [\"probed_build_info\"]\n";
  ProcessOptions po;
  po.stderr_path = dir.file("probed.log");
  auto probed = Process::spawn({probed_bin(), "run", "-c", dir.file("probed.toml")}, po);
  REQUIRE(wait_for_tcp("127.0.0.1", probed_port, 10s));
  std::this_thread::sleep_for(2500ms);

  int rc = 0;
  auto lint = shell("curl -sf http://" + listen + "/metrics | promtool check metrics", &rc);
  INFO(lint);
  CHECK(rc == 0);
  auto metrics = shell("curl -sf http://" + listen + "/metrics");
  CHECK_THAT(metrics, Catch::Contains("probe_failures_total{check=\"down\",location=\"e2e\",reason=\"connect\""));
  CHECK_THAT(metrics, Catch::Contains("probe_phase_duration_seconds{check=\"port\",location=\"e2e\",phase=\"connect\""));
  CHECK_THAT(metrics, Catch::Contains("probe_http_duration_seconds{check=\"self\",location=\"e2e\",phase=\"connect\""));
  CHECK_THAT(metrics, Catch::Contains("probe_journey_step_success{check=\"walk\",location=\"e2e\",step=\"scrape\",target=\"walk\",type=\"journey\"} 1"));
  CHECK_THAT(metrics, Catch::Contains("probe_journey_step_duration_seconds{check=\"walk\",location=\"e2e\",step=\"health\""));

  std::ofstream(dir.file("prometheus.yml"))
      << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
      << "scrape_configs:\n  - job_name: probed\n    static_configs:\n      - targets: ['" << listen << "']\n";
  ProcessOptions pp;
  pp.stderr_path = dir.file("prometheus.log");
  auto prom = Process::spawn({"prometheus", "--config.file=" + dir.file("prometheus.yml"),
                              "--storage.tsdb.path=" + dir.file("tsdb"),
                              "--web.listen-address=127.0.0.1:" + std::to_string(prom_port)},
                             pp);
  REQUIRE(wait_for_tcp("127.0.0.1", prom_port, 30s));
  const std::string query = "curl -sf 'http://127.0.0.1:" + std::to_string(prom_port) +
                            "/api/v1/query?query=probe_success'";
  std::string answer;
  for (int i = 0; i < 60; ++i) {
    answer = shell(query);
    if (answer.find("\"self\"") != std::string::npos && answer.find("\"down\"") != std::string::npos) break;
    std::this_thread::sleep_for(500ms);
  }
  INFO(answer);
  CHECK_THAT(answer, Catch::Contains("\"check\":\"self\""));
  CHECK_THAT(answer, Catch::Contains("\"check\":\"down\""));
  // self succeeds (1), down fails (0): the values appear in the right series.
  auto self_at = answer.find("\"check\":\"self\"");
  auto down_at = answer.find("\"check\":\"down\"");
  CHECK(answer.find("\"1\"]", self_at) < answer.find("}}", answer.find("\"value\"", self_at)) + 10);
  CHECK(answer.find("\"0\"]", down_at) != std::string::npos);
  probed.signal(SIGTERM);
  CHECK(probed.wait_exit(10s) == 0);
}
