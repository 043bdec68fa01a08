// The status page in a real headless browser (Debian's chromium): the DOM it renders puts the
// failing check first and highlights an expiring certificate, and a screenshot is left in
// <build>/test-output for a human to look at. /api/v1/checks and /api/v1/certs agree.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "tests/e2e/ops_e2e.h"
#include "tests/harness/pki.h"

using namespace probed::testing;
using namespace std::chrono_literals;

namespace {

std::string chromium(const std::string& profile, const std::string& args, const std::string& url) {
  int rc = 0;
  auto out = shell("chromium --headless --no-sandbox --disable-gpu --hide-scrollbars "
                   "--user-data-dir='" + profile + "' " + args + " '" + url + "' 2>/dev/null", &rc);
  INFO(out);
  REQUIRE(rc == 0);
  return out;
}

// Position of the first checks-table row of `check`, or npos.
size_t row_of(const std::string& dom, const std::string& check) {
  return dom.find("data-check=\"" + check + "\"");
}

std::string config(const std::string& listen, int closed_port, const std::string& certs) {
  return "[[checks]]\nname = \"a-self\"\ntype = \"http\"\ntargets = [\"http://" + listen + "/-/healthy\"]\n"
         "[[checks]]\nname = \"z-broken\"\ntype = \"http\"\ntargets = [\"http://127.0.0.1:" +
         std::to_string(closed_port) + "/\"]\n"
         "[[checks]]\nname = \"files\"\ntype = \"cert_file\"\ntargets = [" + certs + "]\n"
         "[checks.cert_file]\ncert_warning = \"30d\"\ncert_critical = \"7d\"\n";
}

bool all_ran(const OpsDaemon& d) {
  auto j = nlohmann::json::parse(d.get("/api/v1/checks"), nullptr, false);
  return !j.is_discarded() && j["summary"]["pending"] == 0;
}

}  // namespace

TEST_CASE("e2e: the status page shows the failing check first and highlights an expiring certificate",
          "[e2e][status][browser]") {
  OpsDaemon d;
  Pki pki(d.dir.file("pki"));
  auto certs = make_standard_certs(pki);
  d.write_config("location = \"e2e-lab\"\n",
                 config(d.listen, free_port(), "\"" + certs.valid.cert_path + "\", \"" + certs.expiring_3d.cert_path + "\""));
  d.start();
  REQUIRE(eventually([&] { return all_ran(d); }));
  std::this_thread::sleep_for(1200ms);  // past the snapshot's cache age

  const std::string dom = chromium(d.dir.file("chrome"), "--dump-dom", d.base + "/");
  INFO(dom.substr(0, 4000));
  REQUIRE(row_of(dom, "z-broken") != std::string::npos);
  REQUIRE(row_of(dom, "a-self") != std::string::npos);
  // Failing first, although "a-self" sorts first by name.
  CHECK(row_of(dom, "z-broken") < row_of(dom, "a-self"));
  // The first row of a check carries the anchor alerts link to (generatorURL #check-NAME).
  CHECK_THAT(dom, Catch::Contains("<tr class=\"state-down\" data-check=\"z-broken\" id=\"check-z-broken\">"));
  // The 3-day certificate is CRITICAL (under 7d), highlighted, and listed before the valid one.
  auto critical = dom.find("<tr class=\"cert-critical\">");
  auto ok = dom.find("<tr class=\"cert-ok\">");
  REQUIRE(critical != std::string::npos);
  REQUIRE(ok != std::string::npos);
  CHECK(critical < ok);
  CHECK(dom.find(certs.expiring_3d.cert_path, critical) < ok);
  CHECK_THAT(dom, Catch::Contains("e2e-lab"));

  const std::string shot = test_output_dir() + "/status-page.png";
  chromium(d.dir.file("chrome"), "--window-size=1280,900 --screenshot='" + shot + "'", d.base + "/");
  CHECK(read_file(shot).size() > 10000);
  const std::string phone = test_output_dir() + "/status-page-phone.png";
  chromium(d.dir.file("chrome"), "--window-size=390,844 --screenshot='" + phone + "'", d.base + "/");
  std::printf("status page screenshots: %s %s\n", shot.c_str(), phone.c_str());

  SECTION("the JSON API serves the same rows in the same order") {
    auto checks = nlohmann::json::parse(d.get("/api/v1/checks"));
    CHECK(checks["checks"][0]["check"] == "z-broken");
    CHECK(checks["checks"][0]["last_result"]["reason"] == "connect");
    CHECK(checks["location"] == "e2e-lab");
    auto certs_json = nlohmann::json::parse(d.get("/api/v1/certs"));
    CHECK(certs_json["certs"][0]["status"] == "CRITICAL");
    CHECK(certs_json["certs"][0]["target"] == certs.expiring_3d.cert_path);
  }
}

TEST_CASE("e2e: with every check healthy the page shows no failure and no certificate warning",
          "[e2e][status][browser]") {
  OpsDaemon d;
  Pki pki(d.dir.file("pki"));
  auto certs = make_standard_certs(pki);
  d.write_config("", "[[checks]]\nname = \"a-self\"\ntype = \"http\"\ntargets = [\"http://" + d.listen +
                         "/-/healthy\"]\n[[checks]]\nname = \"files\"\ntype = \"cert_file\"\ntargets = [\"" +
                         certs.valid.cert_path + "\"]\n");
  d.start();
  REQUIRE(eventually([&] { return all_ran(d); }));
  std::this_thread::sleep_for(1200ms);
  const std::string dom = chromium(d.dir.file("chrome"), "--dump-dom", d.base + "/");
  INFO(dom.substr(0, 4000));
  CHECK_THAT(dom, Catch::Contains("data-check=\"a-self\""));
  // Class attributes, not the stylesheet, which names every class.
  CHECK(dom.find("class=\"state-down\"") == std::string::npos);
  CHECK(dom.find("class=\"cert-critical\"") == std::string::npos);
  CHECK(dom.find("class=\"cert-warning\"") == std::string::npos);
  CHECK_THAT(dom, Catch::Contains("<tr class=\"cert-ok\">"));
  CHECK(d.get("/nothing-here", "-o /dev/null -w '%{http_code}'") == "404");
}
