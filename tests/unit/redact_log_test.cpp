#include <catch2/catch.hpp>

#include "daemon/base/log.h"
#include "daemon/base/redact.h"

using namespace probed::base;

TEST_CASE("redact: a registered secret never survives in text", "[unit][secrets]") {
  register_secret("hunter2-canary-value");
  CHECK(redact("token=hunter2-canary-value; again hunter2-canary-value") ==
        "token=<secret>; again <secret>");
  CHECK(redact("nothing here") == "nothing here");
}

TEST_CASE("redact: too-short values are not registered", "[unit][secrets]") {
  register_secret("ab");
  CHECK(redact("abc ab") == "abc ab");
}

TEST_CASE("log: logfmt and json lines are well formed and redacted", "[unit][log]") {
  register_secret("sEcReT-in-log-123");
  auto l = format_log_line(LogLevel::Warn, "probe failed", {{"check", "api"}, {"message", "a \"q\" sEcReT-in-log-123"}},
                           LogFormat::Logfmt);
  CHECK_THAT(l, Catch::Contains("level=warn msg=\"probe failed\" check=api message=\"a \\\"q\\\" <secret>\""));
  CHECK(l.back() == '\n');
  auto j = format_log_line(LogLevel::Error, "x\ny", {{"k", "sEcReT-in-log-123"}}, LogFormat::Json);
  CHECK_THAT(j, Catch::Contains("\"level\":\"error\",\"msg\":\"x\\ny\",\"k\":\"<secret>\"}"));
}
