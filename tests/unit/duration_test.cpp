#include <catch2/catch.hpp>

#include "config/duration.h"

using probed::config::format_duration;
using probed::config::parse_duration;
using namespace std::chrono_literals;

TEST_CASE("duration: units and combinations parse exactly", "[unit][duration]") {
  CHECK(*parse_duration("500ms") == 500ms);
  CHECK(*parse_duration("30s") == 30s);
  CHECK(*parse_duration("1m30s") == 90s);
  CHECK(*parse_duration("2h") == 2h);
  CHECK(*parse_duration("30d") == std::chrono::hours(24 * 30));
  CHECK(*parse_duration("1.5s") == 1500ms);
  CHECK(*parse_duration("1h1m1s1ms") == 1h + 1min + 1s + 1ms);
  CHECK(*parse_duration("0s") == 0s);
}

TEST_CASE("duration: bad input is rejected with the reason", "[unit][duration]") {
  auto check = [](const char* text, const char* why) {
    INFO(text);
    auto d = parse_duration(text);
    REQUIRE_FALSE(d.has_value());
    CHECK_THAT(d.error(), Catch::Contains(why));
  };
  check("", "empty");
  check("10", "missing unit");
  check("10x", "unknown unit 'x'");
  check("s", "expected a number");
  check("30s1m", "descending");
  check("1s1s", "descending");
  check("-5s", "expected a number");
  check("99999999999999999999d", "too large");
  check("5 s", "unknown unit ' '");
}

TEST_CASE("duration: format round-trips", "[unit][duration]") {
  CHECK(format_duration(90s) == "1m30s");
  CHECK(format_duration(1500ms) == "1s500ms");
  CHECK(format_duration(0s) == "0s");
  CHECK(format_duration(std::chrono::hours(24 * 30)) == "30d");
  for (const char* s : {"1m30s", "2h", "1d2h3m4s5ms", "750ms"}) {
    CHECK(format_duration(*parse_duration(s)) == s);
  }
}
