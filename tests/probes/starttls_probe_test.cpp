// The tcp and tls probes behind STARTTLS (smtp, imap, pop3, ftp, postgres) against the
// in-process StarttlsServer with a PKI made at test time: each upgrade verifies and reports the
// chain, and each passing case has a failing twin (a refused upgrade, a post-TLS expect, an
// expired certificate).
#include <catch2/catch.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "probes/metric_names.h"
#include "probes/probe.h"
#include "tests/harness/pki.h"
#include "tests/harness/ports.h"
#include "tests/harness/starttls_server.h"
#include "tests/probes/probe_runner.h"

using namespace probed;
using namespace probed::testing;
using probes::FailureReason;

namespace {

struct StarttlsEnv {
  TempDir dir{"probed-starttls-test"};
  Pki pki{dir.path() + "/pki"};
  StandardCerts certs = make_standard_certs(pki);
  std::string ca() { return "tls_ca_file = \"" + pki.ca_path() + "\"\n"; }
};

StarttlsEnv& env() {
  static StarttlsEnv e;
  return e;
}

StarttlsOptions server_options(const std::string& protocol, bool refuse = false,
                               const IssuedCert* cert = nullptr) {
  if (cert == nullptr) cert = &env().certs.valid;
  StarttlsOptions o;
  o.protocol = protocol;
  o.cert_chain_path = cert->chain_path;
  o.key_path = cert->key_path;
  o.refuse = refuse;
  return o;
}

std::string check(const std::string& type, const std::string& target, const std::string& body) {
  return "[[checks]]\nname = \"t\"\ntype = \"" + type + "\"\ntargets = [\"" + target +
         "\"]\ntimeout = \"2s\"\n[checks." + type + "]\n" + body;
}

std::string starttls(const std::string& protocol) {
  return "starttls = \"" + protocol + "\"\n" + env().ca();
}

ProbeRun run(const std::string& toml) {
  auto r = run_check(toml);
  UNSCOPED_INFO(r.trace);
  CHECK(r.max_loop_gap < slack(std::chrono::milliseconds(100)));  // issue 7: lag p99 < 100 ms
  return r;
}

// What the server sees of the client's side of each exchange, and the start of its refusal.
struct ProtocolCase {
  std::string protocol;
  std::vector<std::string> commands;
  std::string refusal;
};

const std::vector<ProtocolCase>& protocol_cases() {
  static const std::vector<ProtocolCase> cases = {
      {"smtp", {"EHLO probed", "STARTTLS"}, "454 TLS not available"},
      {"imap", {"a001 STARTTLS"}, "a001 NO"},
      {"pop3", {"STLS"}, "-ERR"},
      {"ftp", {"AUTH TLS"}, "534 "},
      {"postgres", {"SSLRequest"}, "(got \"N\")"},
  };
  return cases;
}

const ProtocolCase& protocol_case(const std::string& protocol) {
  for (const auto& c : protocol_cases()) {
    if (c.protocol == protocol) return c;
  }
  FAIL("no case for " << protocol);
  throw std::logic_error("unreachable");
}

// type = "tls" behind STARTTLS verifies and reports the chain; the same server refusing the
// upgrade fails with reason=tls and a "starttls:" message, without a handshake.
void upgrade_and_refusal(const std::string& protocol) {
  const ProtocolCase& pc = protocol_case(protocol);
  {
    StarttlsServer server(server_options(protocol));
    auto r = run(check("tls", server.target(), starttls(protocol)));
    CHECK(r.result.success);
    CHECK(r.result.message == "handshake ok");
    REQUIRE(r.result.chain.size() == 2);
    CHECK_THAT(r.result.chain[0].subject, Catch::Contains("CN=localhost"));
    bool version = false;
    for (const auto& s : r.result.samples) version |= s.name == names::kTlsVersionInfo;
    CHECK(version);
    CHECK(server.connections() == 1);
    CHECK(server.handshakes() == 1);
    CHECK(server.commands() == pc.commands);
  }
  {
    StarttlsServer server(server_options(protocol, /*refuse=*/true));
    auto r = run(check("tls", server.target(), starttls(protocol)));
    CHECK_FALSE(r.result.success);
    CHECK(r.result.reason == FailureReason::Tls);
    CHECK_THAT(r.result.message, Catch::StartsWith("starttls:"));
    CHECK_THAT(r.result.message, Catch::Contains(pc.refusal));
    CHECK(r.result.chain.empty());
    CHECK(server.connections() == 1);
    CHECK(server.handshakes() == 0);
  }
}

}  // namespace

TEST_CASE("starttls smtp: upgrades and verifies, a refused STARTTLS is reason=tls",
          "[probe][tcp][starttls]") {
  upgrade_and_refusal("smtp");
}

TEST_CASE("starttls imap: upgrades and verifies, a refused STARTTLS is reason=tls",
          "[probe][tcp][starttls]") {
  upgrade_and_refusal("imap");
}

TEST_CASE("starttls pop3: upgrades and verifies, a refused STLS is reason=tls",
          "[probe][tcp][starttls]") {
  upgrade_and_refusal("pop3");
}

TEST_CASE("starttls ftp: upgrades and verifies, a refused AUTH TLS is reason=tls",
          "[probe][tcp][starttls]") {
  upgrade_and_refusal("ftp");
}

TEST_CASE("starttls postgres: upgrades and verifies, a refused SSLRequest is reason=tls",
          "[probe][tcp][starttls]") {
  upgrade_and_refusal("postgres");
}

TEST_CASE("starttls: a tcp conversation continues over TLS after the upgrade",
          "[probe][tcp][starttls]") {
  StarttlsServer server(server_options("smtp"));
  auto ok =
      run(check("tcp", server.target(), starttls("smtp") + "expect = [\"^hello over tls\"]\n"));
  CHECK(ok.result.success);
  CHECK_FALSE(ok.result.chain.empty());
  CHECK(server.handshakes() == 1);
  auto twin = run(check("tcp", server.target(), starttls("smtp") + "expect = [\"^nope\"]\n"));
  CHECK(twin.result.reason == FailureReason::Expect);
  CHECK_THAT(twin.result.message, !Catch::StartsWith("starttls:"));
  CHECK_THAT(twin.result.message, Catch::Contains("hello over tls"));
  CHECK(server.handshakes() == 2);
}

TEST_CASE("starttls: an expired certificate behind STARTTLS is reason=cert_expired",
          "[probe][tcp][starttls]") {
  StarttlsServer server(server_options("smtp", false, &env().certs.expired));
  auto r = run(check("tls", server.target(), starttls("smtp")));
  CHECK(r.result.reason == FailureReason::CertExpired);
  CHECK_THAT(r.result.message, Catch::Contains("certificate has expired"));
  CHECK_FALSE(r.result.chain.empty());
  CHECK(server.handshakes() == 0);
}
