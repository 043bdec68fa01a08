// The dns probe against a real dnsmasq (every record type, rcodes, truncation) and exact faults
// from DnsFaultServer (silence, late, garbage, wrong id or question, malformed, SERVFAIL...).
// Every query goes to an explicit loopback `server`; every passing case has a failing twin.
#include "probes/dns/dns_probe.h"

#include <array>
#include <catch2/catch.hpp>
#include <optional>
#include <sstream>

#include "config/loader.h"
#include "probes/dns/dns_answer.h"
#include "probes/metric_names.h"
#include "tests/harness/dns_fault_server.h"
#include "tests/harness/dns_server.h"
#include "tests/harness/ports.h"
#include "tests/probes/probe_runner.h"

using namespace probed;
using namespace probed::testing;
using probes::FailureReason;
using std::chrono::milliseconds;

namespace {

Dnsmasq& dnsmasq() {
  static Dnsmasq d;
  return d;
}

std::string check(const std::string& server, const std::string& target, const std::string& dns = "",
                  const std::string& timeout = "2s") {
  return "[[checks]]\nname = \"t\"\ntype = \"dns\"\ntargets = [\"" + target + "\"]\ntimeout = \"" +
         timeout + "\"\n[checks.dns]\nserver = \"" + server + "\"\n" + dns;
}

std::string local(const std::string& target, const std::string& dns = "") {
  return check(dnsmasq().server(), target, dns);
}

std::optional<double> sample(const probes::Result& r, std::string_view name) {
  for (const auto& s : r.samples) {
    if (s.name == name) return s.value;
  }
  return std::nullopt;
}

ProbeRun run(const std::string& toml) {
  auto r = run_check(toml);
  INFO(r.trace);
  CHECK(r.max_loop_gap < slack(milliseconds(50)));
  return r;
}

}  // namespace

TEST_CASE("dns: every record type passes with its text form and fails with a near miss",
          "[probe][dns]") {
  // record, target, the exact text form of dnsmasq's answer, a near miss that must fail
  const std::array<const char*, 4> cases[] = {
      {"A", "www.example.test", "192.0.2.10", "192.0.2.11"},
      {"AAAA", "v6.example.test", "2001:db8::10", "2001:db8::11"},
      {"CNAME", "alias.example.test", "www.example.test.", "web.example.test."},
      {"MX", "example.test", "10 mail.example.test.", "20 mail.example.test."},
      {"NS", "example.test", "ns1.example.test.", "ns2.example.test."},
      {"TXT", "txt.example.test", "v=spf1 -allprobed", "v=spf1 -all"},
      {"SOA", "example.test",
       "ns1.example.test. hostmaster.example.test. 2024010101 7200 3600 1209600 300",
       "ns1.example.test. hostmaster.example.test. 2024010102 7200 3600 1209600 300"},
      {"SRV", "_sip._tcp.example.test", "10 20 5060 sip.example.test.",
       "10 20 5061 sip.example.test."},
      {"PTR", "10.2.0.192.in-addr.arpa", "www.example.test.", "ptr.example.test."},
      {"CAA", "example.test", "0 issue \"letsencrypt.org\"", "0 issue \"example.org\""},
  };
  for (const auto& [record, target, text, wrong] : cases) {
    INFO(record << " " << target);
    std::string rec = std::string("record = \"") + record + "\"\n";
    auto ok = run(local(target, rec + "answer_contains = ['" + text + "']\n"));
    INFO(ok.trace);
    CHECK(ok.result.success);
    CHECK(sample(ok.result, names::kDnsAnswerRrs) == 1);
    auto bad = run(local(target, rec + "answer_contains = ['" + wrong + "']\n"));
    CHECK(bad.result.reason == FailureReason::Answer);
    CHECK_THAT(bad.result.message, Catch::Contains(wrong) && Catch::Contains(text));
  }
  // A trailing dot is optional and names compare case-insensitively (RFC 4343), TXT data not.
  CHECK(run(local("alias.example.test",
                  "record = \"CNAME\"\nanswer_contains = ['WWW.example.test']\n"))
            .result.success);
  auto txt =
      run(local("txt.example.test", "record = \"TXT\"\nanswer_contains = ['V=SPF1 -ALLPROBED']\n"));
  CHECK(txt.result.reason == FailureReason::Answer);
}

TEST_CASE("dns: PTR takes an IP address and asks for its reverse name", "[probe][dns]") {
  auto ptr = [](const std::string& ip, const std::string& want) {
    return run(local(ip, "record = \"PTR\"\nanswer_contains = [\"" + want + "\"]\n"));
  };
  auto v4 = ptr("192.0.2.99", "ptr.example.test.");
  CHECK(v4.result.success);
  CHECK_THAT(v4.trace, Catch::Contains("query 99.2.0.192.in-addr.arpa. PTR"));
  auto v6 = ptr("2001:db8::10", "v6.example.test.");
  CHECK(v6.result.success);
  CHECK_THAT(v6.trace,
             Catch::Contains(
                 "0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. PTR"));
  CHECK(ptr("192.0.2.99", "www.example.test.").result.reason == FailureReason::Answer);
}

TEST_CASE("dns: samples carry rcode, section counts, lookup time and the SOA serial",
          "[probe][dns]") {
  auto a = run(local("www.example.test"));
  CHECK(a.result.success);
  CHECK(a.result.message == "NOERROR, 1 A answer");
  CHECK(sample(a.result, names::kDnsRcode) == 0);
  CHECK(sample(a.result, names::kDnsAnswerRrs) == 1);
  CHECK(sample(a.result, names::kDnsAuthorityRrs) == 0);
  CHECK(sample(a.result, names::kDnsAdditionalRrs) == 0);
  CHECK(sample(a.result, names::kDnsLookupTime).value_or(-1) >= 0);
  CHECK_FALSE(sample(a.result, names::kDnsSerial).has_value());
  auto soa = run(local("example.test", "record = \"SOA\"\n"));
  CHECK(sample(soa.result, names::kDnsSerial) == 2024010101);
}

TEST_CASE("dns: the trace shows every record, and only the asked type counts as an answer",
          "[probe][dns]") {
  auto r = run(local("alias.example.test"));
  CHECK(r.result.success);
  const std::string server = dnsmasq().server();
  CHECK_THAT(r.trace, Catch::Contains("query alias.example.test. A IN to " + server + " over udp"));
  CHECK_THAT(r.trace, Catch::Contains("reply NOERROR"));
  CHECK_THAT(r.trace, Catch::Contains("answer: alias.example.test. 0 CNAME www.example.test."));
  CHECK_THAT(r.trace, Catch::Contains("answer: www.example.test. 0 A 192.0.2.10"));
  CHECK_THAT(r.trace, Catch::Contains("sections: answer 2, authority 0, additional 0"));
  CHECK_THAT(r.trace, Catch::Contains("verdict: SUCCESS"));
  // The answers are the records of the asked-for type, not the CNAME chain leading to them.
  CHECK(run(local("alias.example.test", "answer_contains = [\"192.0.2.10\"]\n")).result.success);
  auto chain = run(local("alias.example.test", "answer_contains = [\"www.example.test.\"]\n"));
  CHECK(chain.result.reason == FailureReason::Answer);
}

TEST_CASE("dns: min_answers counts answers, NODATA fails by default, answer_regex must match one",
          "[probe][dns]") {
  CHECK(run(local("multi.example.test", "min_answers = 2\n")).result.success);
  auto three = run(local("multi.example.test", "min_answers = 3\n"));
  CHECK(three.result.reason == FailureReason::Answer);
  CHECK_THAT(three.result.message,
             Catch::StartsWith("2 A answers, expected at least 3 (min_answers): [192.0.2.2") &&
                 Catch::Contains("192.0.2.21") && Catch::Contains("192.0.2.22"));
  // www has an A but no AAAA: NOERROR without answers.
  auto nodata = run(local("www.example.test", "record = \"AAAA\"\n"));
  CHECK(nodata.result.reason == FailureReason::Answer);
  CHECK(nodata.result.message == "0 AAAA answers, expected at least 1 (min_answers)");
  CHECK(run(local("www.example.test", "record = \"AAAA\"\nmin_answers = 0\n")).result.success);
  CHECK(run(local("multi.example.test", "answer_regex = ['^192\\.0\\.2\\.22$']\n")).result.success);
  auto bad = run(local("multi.example.test", "answer_regex = ['^10\\.']\n"));
  CHECK(bad.result.reason == FailureReason::Answer);
  CHECK_THAT(bad.result.message, Catch::StartsWith("no A answer matches \"^10\\.\""));
}

TEST_CASE("dns: NXDOMAIN fails with reason=rcode unless valid_rcodes allows it", "[probe][dns]") {
  auto nx = run(local("nx.example.test"));
  CHECK(nx.result.reason == FailureReason::Rcode);
  CHECK(nx.result.message == "rcode NXDOMAIN not in [NOERROR]");
  CHECK(sample(nx.result, names::kDnsRcode) == 3);
  auto allowed = run(local("nx.example.test", "valid_rcodes = [\"NXDOMAIN\"]\n"));
  CHECK(allowed.result.success);  // min_answers defaults to 0 here
  // dnsmasq refuses names outside its zone (it has no upstream).
  auto refused = run(local("outside.test"));
  CHECK(refused.result.message == "rcode REFUSED not in [NOERROR]");
  CHECK(run(local("outside.test", "valid_rcodes = [\"REFUSED\", \"SERVFAIL\"]\n")).result.success);
}

TEST_CASE("dns: a truncated UDP reply is retried over TCP", "[probe][dns]") {
  // ~850 bytes of TXT: dnsmasq sets TC over UDP (no EDNS), c-ares asks again over TCP.
  auto big = run(local("big.example.test", "record = \"TXT\"\nanswer_regex = ['^x{800}$']\n"));
  CHECK(big.result.success);
  CHECK_THAT(big.trace, Catch::Contains("reply came over tcp after a truncated udp reply"));
  DnsFaultServer tc({DnsFault::Truncated});
  auto r = run(check(tc.server(), "a.example.test", "answer_contains = [\"192.0.2.1\"]\n"));
  CHECK(r.result.success);
  CHECK_THAT(r.trace, Catch::Contains("reply came over tcp after a truncated udp reply"));
  CHECK(tc.udp_queries() >= 1);
  CHECK(tc.tcp_queries() == 1);
  auto twin = run(check(tc.server(), "a.example.test", "answer_contains = [\"192.0.2.2\"]\n"));
  CHECK(twin.result.reason == FailureReason::Answer);
}

TEST_CASE("dns: protocol picks TCP or UDP, recursion_desired sets the RD bit", "[probe][dns]") {
  DnsFaultServer tcp_server({});
  CHECK(run(check(tcp_server.server(), "a.example.test", "protocol = \"tcp\"\n")).result.success);
  CHECK(tcp_server.tcp_queries() == 1);
  CHECK(tcp_server.udp_queries() == 0);
  DnsFaultServer udp_server({});
  auto udp = run(check(udp_server.server(), "a.example.test", "protocol = \"udp\"\n"));
  CHECK(udp.result.success);
  CHECK_THAT(udp.trace, !Catch::Contains("came over tcp"));
  CHECK(udp_server.tcp_queries() == 0);
  CHECK(udp_server.udp_queries() == 1);
  CHECK(run(local("www.example.test", "protocol = \"tcp\"\n")).result.success);
  DnsFaultServer rd({});
  CHECK(run(check(rd.server(), "a.example.test")).result.success);
  CHECK((rd.last_query_flags() & 0x0100) != 0);
  DnsFaultServer no_rd({});
  CHECK(run(check(no_rd.server(), "a.example.test", "recursion_desired = false\n")).result.success);
  CHECK(no_rd.last_query_flags() >= 0);
  CHECK((no_rd.last_query_flags() & 0x0100) == 0);
}

TEST_CASE("dns faults: SERVFAIL, REFUSED and NXDOMAIN end quickly with reason=rcode",
          "[probe][dns][fault]") {
  const std::pair<int, const char*> rcodes[] = {{2, "SERVFAIL"}, {5, "REFUSED"}, {3, "NXDOMAIN"}};
  for (const auto& [code, name] : rcodes) {
    INFO(name);
    DnsFaultServer s({DnsFault::Rcode, code});
    auto r = run(check(s.server(), "a.example.test"));
    CHECK(r.result.reason == FailureReason::Rcode);
    CHECK(r.result.message == std::string("rcode ") + name + " not in [NOERROR]");
    CHECK(sample(r.result, names::kDnsRcode) == code);
    CHECK(r.elapsed < slack(milliseconds(500)));
    auto ok = run(
        check(s.server(), "a.example.test", std::string("valid_rcodes = [\"") + name + "\"]\n"));
    CHECK(ok.result.success);
  }
}

TEST_CASE("dns faults: a silent server ends at the deadline with reason=timeout",
          "[probe][dns][fault]") {
  DnsFaultServer silent({DnsFault::Silent});
  auto r = run(check(silent.server(), "a.example.test", "", "1s"));
  CHECK(r.result.reason == FailureReason::Timeout);
  CHECK(r.result.message == "no answer from " + silent.server() + " within 1s");
  CHECK(r.elapsed >= milliseconds(990));
  CHECK(r.elapsed <= slack(milliseconds(1100)));  // deadline + 10%
  CHECK(silent.udp_queries() >= 2);               // c-ares retransmitted in between
  DnsFaultServer twin({DnsFault::Answer});
  auto ok = run(check(twin.server(), "a.example.test", "", "1s"));
  CHECK(ok.result.success);
  CHECK(ok.elapsed < slack(milliseconds(200)));
}

TEST_CASE("dns faults: an answer later than the timeout is a timeout, an earlier one passes",
          "[probe][dns][fault]") {
  DnsFaultServer late({DnsFault::Slow, 0, {"192.0.2.1"}, milliseconds(1500)});
  auto r = run(check(late.server(), "a.example.test", "", "1s"));
  CHECK(r.result.reason == FailureReason::Timeout);
  CHECK(r.elapsed <= slack(milliseconds(1100)));
  DnsFaultServer early({DnsFault::Slow, 0, {"192.0.2.1"}, milliseconds(150)});
  auto ok = run(check(early.server(), "a.example.test", "", "1s"));
  CHECK(ok.result.success);
}

TEST_CASE("dns faults: garbage, a wrong id or a wrong question are never taken as the answer",
          "[probe][dns][fault]") {
  // c-ares matches replies by id and question and drops the rest, so the query times out.
  for (auto mode : {DnsFault::Garbage, DnsFault::WrongId, DnsFault::WrongQname}) {
    INFO("mode " << static_cast<int>(mode));
    DnsFaultServer s({mode});
    auto r = run(check(s.server(), "a.example.test", "", "500ms"));
    CHECK(r.result.reason == FailureReason::Timeout);
    CHECK(r.elapsed <= slack(milliseconds(550)));
    CHECK(s.udp_queries() >= 2);  // retransmitted: the bad reply did not end the query
  }
  DnsFaultServer twin({DnsFault::Answer});
  CHECK(run(check(twin.server(), "a.example.test", "", "500ms")).result.success);
}

TEST_CASE("dns faults: a malformed answer or nothing listening fail with reason=dns, quickly",
          "[probe][dns][fault]") {
  DnsFaultServer s({DnsFault::Malformed});
  auto r = run(check(s.server(), "a.example.test"));
  CHECK(r.result.reason == FailureReason::Dns);
  CHECK_THAT(r.result.message,
             Catch::StartsWith("malformed reply from " + s.server() + ": answer"));
  auto refused = run(check("127.0.0.1:" + std::to_string(free_port()), "a.example.test"));
  CHECK(refused.result.reason == FailureReason::Dns);
  CHECK_THAT(refused.result.message, Catch::Contains("connection refused"));
  CHECK(refused.elapsed < slack(milliseconds(500)));
}

TEST_CASE("dns: repeated runs leak no file descriptors", "[probe][dns]") {
  DnsFaultServer silent({DnsFault::Silent});
  run(local("www.example.test"));
  int before = open_fds();
  for (int i = 0; i < 10; ++i) run_check(local("www.example.test", "protocol = \"tcp\"\n"));
  for (int i = 0; i < 3; ++i) run_check(check(silent.server(), "a.example.test", "", "300ms"));
  CHECK(open_fds() <= before);
}

// Config: every error at its exact line and column (toml++'s should_fail style).
namespace {

// Loads one config; *errors gets the diagnostics as check-config prints them.
config::LoadResult load(const std::string& text, std::string* errors) {
  auto r = config::load_config_text(text, "t.toml", "/tmp", probes::config_probe_types());
  std::ostringstream all;
  r.diags.print(all);
  *errors = all.str();
  return r;
}

const char* kDnsHead = "[[checks]]\nname = \"r\"\ntype = \"dns\"\ntargets = [\"example.test\"]\n";

void config_should_fail(const std::string& text, uint32_t line, uint32_t col,
                        const std::string& what) {
  std::string errors;
  auto r = load(text, &errors);
  INFO("config:\n" << text << "\nerrors:\n" << errors);
  REQUIRE_FALSE(r.ok());
  bool found = false;
  for (const auto& d : r.diags.sorted()) {
    found = found ||
            (d.pos.line == line && d.pos.col == col && d.message.find(what) != std::string::npos);
  }
  CHECK(found);
}

void dns_should_fail(const std::string& dns, uint32_t col, const std::string& what) {
  config_should_fail(std::string(kDnsHead) + "[checks.dns]\n" + dns + "\n", 6, col, what);
}

std::shared_ptr<const probes::DnsSpec> spec_of(const std::string& dns) {
  std::string errors;
  auto r = load(std::string(kDnsHead) + "[checks.dns]\n" + dns + "\n", &errors);
  INFO(errors);
  REQUIRE(r.ok());
  return std::static_pointer_cast<const probes::DnsSpec>(r.config->checks.front().spec);
}

}  // namespace

TEST_CASE("dns config: bad values are reported at their position", "[probe][dns][config]") {
  dns_should_fail(
      "record = \"AAA\"", 10,
      "unknown record type 'AAA' (one of A, AAAA, CNAME, MX, NS, TXT, SOA, SRV, PTR, CAA)");
  dns_should_fail("valid_rcodes = [\"NOERROR\", \"NXDOMIAN\"]", 28, "unknown rcode 'NXDOMIAN'");
  dns_should_fail("valid_rcodes = []", 16, "must name at least one rcode");
  dns_should_fail("answer_regex = [\"(unclosed\"]", 17, "invalid regex");
  dns_should_fail("server = \"dns.example.com:53\"", 10,
                  "invalid DNS server \"dns.example.com:53\"");
  dns_should_fail("server = \"127.0.0.1:99999\"", 10, "port must be 1-65535");
  dns_should_fail("server = \"[::1\"", 10, "missing ']'");
  dns_should_fail("protocol = \"doh\"", 12, "'protocol' must be \"udp\" or \"tcp\"");
  dns_should_fail("min_answers = -1", 15, "'min_answers' must be between 0 and 65535");
  dns_should_fail("recursion = false", 1, "unknown key 'recursion'");
  config_should_fail(
      "[[checks]]\nname = \"r\"\ntype = \"dns\"\ntargets = [\"ok.test\", \"a..b\"]\n", 4, 23,
      "invalid DNS name \"a..b\": empty label");
  config_should_fail(
      "[[checks]]\nname = \"r\"\ntype = \"dns\"\ntargets = [\"" + std::string(254, 'a') + "\"]\n",
      4, 12, "longer than 253 characters");
}

TEST_CASE("dns config: defaults and accepted forms", "[probe][dns][config]") {
  auto d = spec_of("");
  CHECK((d->server.empty() && d->record == probes::kTypeA && !d->tcp && d->recursion_desired));
  CHECK((d->valid_rcodes == std::vector<int>{0} && d->min_answers == 1));
  CHECK(spec_of("valid_rcodes = [\"nxdomain\"]")->min_answers == 0);
  CHECK(spec_of("valid_rcodes = [\"NOERROR\", \"NXDOMAIN\"]")->min_answers == 0);
  CHECK(spec_of("valid_rcodes = [\"NXDOMAIN\"]\nmin_answers = 2")->min_answers == 2);
  CHECK(spec_of("record = \"aaaa\"")->record == probes::kTypeAaaa);
  for (auto [in, out] : {std::pair{"127.0.0.1", "127.0.0.1:53"},
                         {"::1", "[::1]:53"},
                         {"[::1]:5353", "[::1]:5353"},
                         {"127.0.0.1:05353", "127.0.0.1:5353"}}) {
    CHECK(spec_of("server = \"" + std::string(in) + "\"")->server == out);
  }
  for (std::string ok : {".", "_sip._tcp.example.com.", "2001:db8::1"}) {
    CHECK(probes::check_dns_target(ok) == std::nullopt);
  }
  for (std::string bad : {std::string(), std::string("a b.example"), std::string(64, 'a') + ".x"}) {
    CHECK(probes::check_dns_target(bad) != std::nullopt);
  }
}

TEST_CASE("dns answer reader: broken messages are errors, never loops", "[probe][dns][unit]") {
  using Bytes = std::vector<unsigned char>;
  const Bytes header = {0x12, 0x34, 0x81, 0x80, 0, 0, 0, 1, 0, 0, 0, 0};
  auto reply = [&](Bytes answer) {
    answer.insert(answer.begin(), header.begin(), header.end());
    return probes::parse_dns_reply(answer);
  };
  CHECK_FALSE(probes::parse_dns_reply(Bytes(header.begin(), header.begin() + 11)));
  // An owner name that points at itself (a loop) is rejected.
  auto loop = reply({0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 1, 2, 3, 4});
  REQUIRE_FALSE(loop);
  CHECK_THAT(loop.error(), Catch::Contains("does not point backwards"));
  // "a." A 1.2.3.4, TTL 60; then a label holding a dot and a byte outside ASCII (RFC 1035 §5.1).
  auto good = reply({1, 'a', 0, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 1, 2, 3, 4});
  REQUIRE(good);
  REQUIRE(good->answer.size() == 1);
  CHECK(good->answer[0].name + " " + std::to_string(good->answer[0].ttl) + " " +
            good->answer[0].text ==
        "a. 60 1.2.3.4");
  CHECK(good->flags_text() == "qr rd ra");
  auto esc = reply({3, 'a', '.', 0xff, 0, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 1, 2, 3, 4});
  REQUIRE(esc);
  CHECK(esc->answer[0].name == "a\\.\\255.");
}
