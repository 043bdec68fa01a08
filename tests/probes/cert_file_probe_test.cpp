// cert_file against PEM files made at test time: single certificates, bundles, globs,
// expired certificates, and files that are missing or hold no certificate.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <fstream>

#include "probes/metric_names.h"
#include "tests/harness/pki.h"
#include "tests/harness/ports.h"
#include "tests/probes/probe_runner.h"

using namespace probed;
using namespace probed::testing;
using probes::FailureReason;

namespace {

std::string check(const std::string& target) {
  return "[[checks]]\nname = \"c\"\ntype = \"cert_file\"\ntargets = [\"" + target +
         "\"]\n[checks.cert_file]\ncert_warning = \"30d\"\ncert_critical = \"7d\"\n";
}

size_t count_samples(const probes::Result& r) {
  size_t n = 0;
  for (const auto& s : r.samples) n += s.name == names::kCertFileNotAfter;
  return n;
}

}  // namespace

TEST_CASE("cert_file: certificates in files, bundles and globs are reported one by one", "[probe][cert_file]") {
  TempDir dir("probed-certfile");
  Pki pki(dir.path() + "/pki");
  auto certs = make_standard_certs(pki);
  auto single = run_check(check(certs.valid.cert_path));
  INFO(single.trace);
  CHECK(single.result.success);
  CHECK(count_samples(single.result) == 1);
  auto bundle = run_check(check(certs.valid.chain_path));  // leaf + intermediate
  CHECK(bundle.result.success);
  CHECK(count_samples(bundle.result) == 2);
  auto glob = run_check(check(dir.path() + "/pki/*-chain.pem"));
  CHECK(glob.result.success);
  CHECK_THAT(glob.result.message, Catch::Contains("1 expired"));
  CHECK(count_samples(glob.result) >= 8);
}

TEST_CASE("cert_file: an expired certificate is reported with its not-after, not failed", "[probe][cert_file]") {
  TempDir dir("probed-certfile");
  Pki pki(dir.path() + "/pki");
  auto certs = make_standard_certs(pki);
  auto r = run_check(check(certs.expired.cert_path));
  CHECK(r.result.success);
  CHECK_THAT(r.result.message, Catch::Contains("1 expired"));
  REQUIRE(r.result.chain.size() == 1);
  CHECK(r.result.chain[0].not_after < base::unix_now());
  auto soon = run_check(check(certs.expiring_3d.cert_path));
  CHECK(soon.result.success);  // under cert_critical: an alert, not a failed run
}

TEST_CASE("cert_file: missing files and files without certificates fail clearly", "[probe][cert_file]") {
  TempDir dir("probed-certfile");
  auto missing = run_check(check(dir.path() + "/nothing-*.pem"));
  CHECK(missing.result.reason == FailureReason::Error);
  CHECK_THAT(missing.result.message, Catch::Contains("no file matches"));
  std::ofstream(dir.file("junk.pem")) << "not a certificate\n";
  auto junk = run_check(check(dir.file("junk.pem")));
  CHECK(junk.result.reason == FailureReason::Error);
  CHECK_THAT(junk.result.message, Catch::Contains("no PEM certificate"));
}

TEST_CASE("cert_file: the system CA bundle reads off the loop", "[probe][cert_file]") {
  auto r = run_check(check("/etc/ssl/certs/ca-certificates.crt"));
  INFO(r.result.message);
  CHECK(count_samples(r.result) > 50);
  CHECK(r.max_loop_gap < slack(std::chrono::milliseconds(100)));
}

TEST_CASE("cert_file: an unreadable file fails with reason=error naming it", "[probe][cert_file]") {
  // Root reads anything, so "unreadable" is a dangling symlink: the glob lists it, the read fails.
  TempDir dir("probed-certfile");
  REQUIRE(symlink("/nonexistent/cert.pem", dir.file("dangling.pem").c_str()) == 0);
  auto r = run_check(check(dir.path() + "/*.pem"));
  CHECK(r.result.reason == FailureReason::Error);
  CHECK_THAT(r.result.message, Catch::Contains("cannot read " + dir.file("dangling.pem")));
}
