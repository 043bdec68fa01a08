// The tcp check's expect matching and how received bytes are shown (probes/tcp/expect.h),
// on the cases fuzz_tcp_expect exercises at random.
#include <catch2/catch.hpp>

#include "probes/tcp/expect.h"

using probed::probes::ExpectVerdict;
using probed::probes::Regex;
using probed::probes::expect_failure;
using probed::probes::expect_feed;
using probed::probes::printable;

TEST_CASE("tcp expect: a match that spans chunks is found when its last byte arrives", "[unit][tcp]") {
  auto re = *Regex::compile("(?m)^250 ");
  std::string in;
  CHECK(expect_feed(in, "250-mail.example\r\n2", re, 1024) == ExpectVerdict::NeedMore);
  CHECK(expect_feed(in, "50", re, 1024) == ExpectVerdict::NeedMore);
  CHECK(expect_feed(in, " ok\r\n", re, 1024) == ExpectVerdict::Matched);
  CHECK(in == "250-mail.example\r\n250 ok\r\n");
}

TEST_CASE("tcp expect: the cap ends the step without a match, but a match in the last chunk wins",
          "[unit][tcp]") {
  auto re = *Regex::compile("^220 ");
  std::string in;
  CHECK(expect_feed(in, "SSH-2.0-", re, 8) == ExpectVerdict::CapReached);
  std::string other;
  CHECK(expect_feed(other, "220 hello", re, 4) == ExpectVerdict::Matched);
}

TEST_CASE("tcp expect: bytes that are not valid UTF-8 neither match by accident nor break the regex",
          "[unit][tcp]") {
  auto re = *Regex::compile("OK$");
  std::string in;
  CHECK(expect_feed(in, std::string("\xff\xfe\xc3(", 4), re, 64) == ExpectVerdict::NeedMore);
  CHECK(expect_feed(in, "OK", re, 64) == ExpectVerdict::Matched);
}

TEST_CASE("tcp expect: received bytes are shown as printable ASCII, bounded", "[unit][tcp]") {
  CHECK(printable(std::string("a\r\n\x01\xff" "b", 6)) == "a\\r\\n..b");
  std::string long_banner(200, 'x');
  CHECK(printable(long_banner) == std::string(80, 'x') + "...");
  auto msg = expect_failure("^220 \x1b", "connection closed", std::string("\x1b[2J", 4));
  CHECK(msg == "expected /^220 ./: connection closed (got \".[2J\")");
  CHECK(expect_failure("^220 ", "timeout", "") == "expected /^220 /: timeout");
}
