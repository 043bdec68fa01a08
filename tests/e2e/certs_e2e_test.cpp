// `probed certs` on the real binary: certificates from files and a live TLS endpoint, sorted
// by days left with their status, as a table and as JSON, and the exit code.
#include <catch2/catch.hpp>

#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/harness/nginx.h"
#include "tests/harness/pki.h"
#include "tests/e2e/e2e.h"
#include "tests/harness/ports.h"
#include "tests/harness/process.h"

using namespace probed::testing;

TEST_CASE("e2e: probed certs lists certificates by expiry and exits 1 on WARNING or worse", "[e2e][certs]") {
  TempDir dir("probed-certs-e2e");
  Pki pki(dir.path() + "/pki");
  auto certs = make_standard_certs(pki);
  NginxServer tls;
  tls.name = "tls";
  tls.tls = true;
  tls.cert_chain_path = certs.valid.chain_path;
  tls.key_path = certs.valid.key_path;
  Nginx nginx({tls});
  const std::string cfg = dir.file("probed.toml");
  auto write = [&](const std::string& files) {
    std::ofstream(cfg) << "[[checks]]\nname = \"files\"\ntype = \"cert_file\"\ntargets = [" << files << "]\n"
                       << "[[checks]]\nname = \"edge\"\ntype = \"tls\"\ntargets = [\"localhost:"
                       << nginx.port("tls") << "\"]\n[checks.tls]\ntls_ca_file = \"" << pki.ca_path() << "\"\n"
                       << "[[checks]]\nname = \"walk\"\ntype = \"journey\"\n[checks.journey]\n"
                       << "[[checks.journey.steps]]\nname = \"home\"\nurl = \"https://localhost:"
                       << nginx.port("tls") << "/\"\ntls_ca_file = \"" << pki.ca_path() << "\"\nvalid_status = [\"2xx\", \"4xx\"]\n";
  };
  write("\"" + certs.valid.cert_path + "\"");
  int code = -1;
  auto ok = Process::run_capture({probed_bin(), "certs", "-c", cfg}, &code);
  INFO(ok);
  CHECK(code == 0);
  CHECK_THAT(ok, Catch::Contains("OK"));
  CHECK_THAT(ok, Catch::Contains("edge"));
  CHECK_THAT(ok, Catch::Contains("walk"));  // a journey's https step

  write("\"" + certs.valid.cert_path + "\", \"" + certs.expiring_3d.cert_path + "\", \"" +
        certs.expired.cert_path + "\"");
  auto bad = Process::run_capture({probed_bin(), "certs", "-c", cfg}, &code);
  INFO(bad);
  CHECK(code == 1);
  auto expired_at = bad.find("EXPIRED");
  auto critical_at = bad.find("CRITICAL");
  auto ok_at = bad.find("\nOK");
  REQUIRE(expired_at != std::string::npos);
  REQUIRE(critical_at != std::string::npos);
  CHECK(expired_at < critical_at);  // sorted by days left
  CHECK(critical_at < ok_at);

  auto json_text = Process::run_capture({probed_bin(), "certs", "-c", cfg, "--format", "json"}, &code);
  auto rows = nlohmann::json::parse(json_text);
  REQUIRE(rows.is_array());
  REQUIRE(rows.size() >= 4);
  CHECK(rows[0]["status"] == "EXPIRED");
  CHECK(rows[0]["days_left"].get<double>() < 0);
  for (const auto& r : rows) CHECK(r.contains("not_after"));
}
