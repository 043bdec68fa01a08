// DNS answer text forms (probes/dns/dns_answer.h): regressions found by fuzz_dns_answer.
#include <catch2/catch.hpp>

#include <string>

#include "probes/dns/dns_answer.h"

using probed::probes::parse_dns_reply;
using namespace std::string_literals;

namespace {

// A reply to "example.test. CAA" (the header and question as dnsmasq sends them) with one
// CAA record whose rdata is given.
std::vector<unsigned char> caa_reply(const std::string& rdata) {
  using namespace std::string_literals;
  std::string m = "\x10\x05\x85\x80\0\1\0\1\0\0\0\0"s     // id, flags, 1 question, 1 answer
                  "\7example\4test\0\x01\x01\0\1"s         // example.test. CAA IN
                  "\xc0\x0c\x01\x01\0\1\0\0\0\0\0"s;   // the same name, CAA IN, TTL 0
  m += static_cast<char>(rdata.size());
  m += rdata;
  return {m.begin(), m.end()};
}

}  // namespace

TEST_CASE("dns answer: a CAA tag with bytes outside printable ASCII is escaped like the value",
          "[unit][dns]") {
  // Found by fuzz_dns_answer: the tag was copied raw, control bytes and all.
  auto reply = parse_dns_reply(caa_reply("\0\5is\x1b\x92" "eca\n"s));
  REQUIRE(reply);
  REQUIRE(reply->answer.size() == 1);
  CHECK(reply->answer[0].text == "0 is\\027\\146e \"ca\\010\"");
}

TEST_CASE("dns answer: a well-formed CAA record reads as flags, tag and quoted value", "[unit][dns]") {
  auto reply = parse_dns_reply(caa_reply("\0\5issueca.org"s));
  REQUIRE(reply);
  CHECK(reply->answer[0].text == "0 issue \"ca.org\"");
}
