// GET /probe on the real daemon: scraped by a real Prometheus with blackbox_exporter's
// relabeling recipe, its answer accepted by promtool, a denied target answered 403 without a
// connection (a listener on it sees none), and its allowed twin connecting. Also the fleet:
// two daemons with shard "0/2" and "1/2" run disjoint sets of checks covering all of them.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <set>

#include "tests/e2e/ops_e2e.h"

using namespace probed::testing;
using namespace std::chrono_literals;

namespace {

// A loopback listener that never answers; counts connections without blocking.
struct Listener {
  int fd = -1;
  int port = 0;
  Listener() {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(fd, 16) == 0);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  ~Listener() { ::close(fd); }
  int accepted() {
    int n = 0;
    for (int c; (c = ::accept(fd, nullptr, nullptr)) >= 0; ++n) ::close(c);
    return n;
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port) + "/"; }
};

std::string escaped_port_pattern(int port) {
  return "\"^http://127\\\\.0\\\\.0\\\\.1:" + std::to_string(port) + "/\"";
}

std::string probe_section(const std::string& patterns) {
  return "[probe_endpoint]\nenabled = true\nallowed_targets = [" + patterns + "]\n"
         "[[checks]]\nname = \"web\"\ntype = \"http\"\ntargets = []\n";
}

}  // namespace

TEST_CASE("e2e: /probe denies a target outside allowed_targets with 403 and never connects to it",
          "[e2e][probe_endpoint]") {
  Listener denied, allowed;
  OpsDaemon d;
  d.write_config("", probe_section(escaped_port_pattern(allowed.port)));
  d.start();
  auto status = d.get("/probe?module=web&target=" + denied.url(), "-o /dev/null -w '%{http_code}'");
  CHECK(status == "403");
  std::this_thread::sleep_for(500ms);
  CHECK(denied.accepted() == 0);
  CHECK_THAT(d.log(), Catch::Contains("/probe target denied"));

  SECTION("the allowed twin does connect (and times out: the listener never answers)") {
    auto body = d.get("/probe?module=web&target=" + allowed.url(),
                      "-H 'X-Prometheus-Scrape-Timeout-Seconds: 1.5'");
    CHECK_THAT(body, Catch::Contains("\nprobe_success 0\n"));
    CHECK(allowed.accepted() == 1);
  }
  SECTION("disabled endpoint: 404") {
    d.write_config("", "[[checks]]\nname = \"web\"\ntype = \"http\"\ntargets = []\n");
    REQUIRE(shell("curl -s -X POST " + d.base + "/-/reload") == "config reloaded\n");
    CHECK(d.get("/probe?module=web&target=" + allowed.url(), "-o /dev/null -w '%{http_code}'") == "404");
    CHECK(allowed.accepted() == 0);
  }
}

TEST_CASE("e2e: /probe runs are bounded: beyond 4 in flight the answer is 503", "[e2e][probe_endpoint]") {
  Listener silent;  // accepts and never answers: each run lasts its whole timeout
  OpsDaemon d;
  d.write_config("", probe_section(escaped_port_pattern(silent.port)));
  d.start();
  // Six at once, each with a 2.5 s run (3 s scrape timeout minus 0.5 s).
  auto codes = shell("for i in 1 2 3 4 5 6; do curl -s -o /dev/null -w '%{http_code}\\n' "
                     "-H 'X-Prometheus-Scrape-Timeout-Seconds: 3' '" + d.base + "/probe?module=web&target=" +
                     silent.url() + "' & done; wait");
  INFO(codes);
  size_t ok = 0, busy = 0;
  for (size_t at = 0; (at = codes.find("200", at)) != std::string::npos; ++at) ++ok;
  for (size_t at = 0; (at = codes.find("503", at)) != std::string::npos; ++at) ++busy;
  CHECK(ok == 4);
  CHECK(busy == 2);
  CHECK(silent.accepted() == 4);  // the refused two never connected
}

TEST_CASE("e2e: /probe answers pass promtool and debug=true returns the trace", "[e2e][probe_endpoint]") {
  OpsDaemon d;
  d.write_config("", probe_section(escaped_port_pattern(d.port)));
  d.start();
  const std::string url = d.base + "/probe?module=web&target=" + d.base + "/-/healthy";
  int rc = 0;
  auto lint = shell("curl -sf '" + url + "' | promtool check metrics", &rc);
  INFO(lint);
  CHECK(rc == 0);
  auto body = shell("curl -s '" + url + "'");
  CHECK_THAT(body, Catch::Contains("\nprobe_success 1\n"));
  CHECK_THAT(body, Catch::Contains("\nprobe_http_status_code 200\n"));
  CHECK(body.find("check=") == std::string::npos);
  auto debug = shell("curl -s '" + url + "&debug=true'");
  CHECK_THAT(debug, Catch::Contains("verdict: SUCCESS"));
  CHECK_THAT(debug, Catch::Contains("probe_success 1"));
  // Outside the schedule: a template check has no series of its own on /metrics.
  CHECK(d.get("/metrics").find("check=\"web\"") == std::string::npos);
}

TEST_CASE("e2e: Prometheus scrapes /probe with blackbox-style relabeling", "[e2e][probe_endpoint][prometheus]") {
  OpsDaemon d;
  d.write_config("", probe_section(escaped_port_pattern(d.port)));
  d.start();
  const std::string good = d.base + "/-/healthy";
  const std::string bad = d.base + "/no-such-page";           // allowed; the check fails (404)
  const std::string denied = "http://127.0.0.1:" + std::to_string(free_port()) + "/";  // 403
  int prom_port = free_port();
  std::ofstream(d.dir.file("prometheus.yml"))
      << "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
      << "scrape_configs:\n  - job_name: blackbox\n    metrics_path: /probe\n"
      << "    params:\n      module: [web]\n"
      << "    static_configs:\n      - targets: ['" << good << "', '" << bad << "', '" << denied << "']\n"
      << "    relabel_configs:\n"
      << "      - source_labels: [__address__]\n        target_label: __param_target\n"
      << "      - source_labels: [__param_target]\n        target_label: instance\n"
      << "      - target_label: __address__\n        replacement: " << d.listen << "\n";
  ProcessOptions pp;
  pp.stderr_path = d.dir.file("prometheus.log");
  auto prom = Process::spawn({"prometheus", "--config.file=" + d.dir.file("prometheus.yml"),
                              "--storage.tsdb.path=" + d.dir.file("tsdb"),
                              "--web.listen-address=127.0.0.1:" + std::to_string(prom_port)}, pp);
  REQUIRE(wait_for_tcp("127.0.0.1", prom_port, 30s));
  auto query = [&](const std::string& q) {
    return shell("curl -s -G 'http://127.0.0.1:" + std::to_string(prom_port) +
                 "/api/v1/query' --data-urlencode 'query=" + q + "'");
  };
  auto value = [&](const std::string& q) -> std::string {
    auto j = nlohmann::json::parse(query(q), nullptr, false);
    if (j.is_discarded() || j["data"]["result"].empty()) return "";
    return j["data"]["result"][0]["value"][1].get<std::string>();
  };
  std::string up_good;
  REQUIRE(eventually([&] {
    return !(up_good = value("probe_success{instance=\"" + good + "\"}")).empty() &&
           !value("probe_success{instance=\"" + bad + "\"}").empty() &&
           !value("up{instance=\"" + denied + "\"}").empty();
  }, 60s));
  INFO(read_file(d.dir.file("prometheus.log")));
  CHECK(up_good == "1");
  CHECK(value("probe_success{instance=\"" + bad + "\"}") == "0");
  CHECK(value("probe_http_status_code{instance=\"" + bad + "\"}") == "404");
  // The denied target: the scrape itself fails (403), so up is 0 and no probe_success exists.
  CHECK(value("up{instance=\"" + denied + "\"}") == "0");
  CHECK(value("probe_success{instance=\"" + denied + "\"}").empty());
}

TEST_CASE("e2e: two daemons with shard 0/2 and 1/2 run disjoint checks that cover all", "[e2e][fleet]") {
  std::string checks;
  std::set<std::string> all;
  for (int i = 0; i < 10; ++i) {
    std::string name = "svc-" + std::to_string(i);
    all.insert(name);
    checks += "[[checks]]\nname = \"" + name + "\"\ntype = \"tcp\"\ntargets = [\"127.0.0.1:" +
              std::to_string(free_port()) + "\"]\n";
  }
  OpsDaemon a, b;
  a.write_config("shard = \"0/2\"\nlocation = \"host-a\"\n", checks);
  b.write_config("shard = \"1/2\"\nlocation = \"host-b\"\n", checks);
  a.start();
  b.start();
  auto names = [](const OpsDaemon& d) {
    std::set<std::string> out;
    auto j = nlohmann::json::parse(d.get("/api/v1/checks"));
    for (const auto& c : j["checks"]) out.insert(c["check"].get<std::string>());
    return out;
  };
  std::this_thread::sleep_for(1500ms);
  auto in_a = names(a), in_b = names(b);
  INFO("a: " << in_a.size() << " b: " << in_b.size());
  CHECK_FALSE(in_a.empty());
  CHECK_FALSE(in_b.empty());
  std::set<std::string> both;
  for (const auto& n : in_a) {
    if (in_b.count(n) != 0) both.insert(n);
  }
  CHECK(both.empty());
  std::set<std::string> uni = in_a;
  uni.insert(in_b.begin(), in_b.end());
  CHECK(uni == all);
  // Their /metrics agree: each exports only its own checks.
  auto metrics_a = a.get("/metrics");
  for (const auto& n : in_b) CHECK(metrics_a.find("check=\"" + n + "\"") == std::string::npos);
}
