#include <catch2/catch.hpp>

#include "config/loader.h"
#include "probes/assertions/json_assertion.h"
#include "probes/assertions/regex.h"
#include "probes/assertions/response.h"

using namespace probed;
using probes::FailureReason;
using probes::HttpResponse;
using probes::ResponseAssertions;
using probes::Result;

namespace {

// Reads assertion keys from a TOML snippet; fails the test on config errors.
ResponseAssertions assertions(const std::string& text) {
  static std::vector<toml::table> keep;  // tables must outlive the reader's use
  keep.push_back(toml::parse(std::string_view(text), std::string_view("test.toml")));
  config::Diagnostics d;
  config::TableReader r({&keep.back()}, "test", d, ".");
  ResponseAssertions a;
  a.read(r);
  r.finish();
  INFO(text);
  std::ostringstream ss;
  d.print(ss);
  INFO(ss.str());
  REQUIRE(d.empty());
  return a;
}

Result eval(const ResponseAssertions& a, const HttpResponse& resp) {
  Result r = Result::ok();
  a.evaluate(resp, r, nullptr);
  return r;
}

HttpResponse response(long status, std::string body,
                      std::vector<std::pair<std::string, std::string>> headers = {}) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

}  // namespace

TEST_CASE("assertions: valid_status takes codes and classes", "[unit][assertions]") {
  auto a = assertions(R"(valid_status = ["2xx", 301])");
  CHECK(eval(a, response(204, "")).success);
  CHECK(eval(a, response(301, "")).success);
  auto r = eval(a, response(302, ""));
  CHECK_FALSE(r.success);
  CHECK(r.reason == FailureReason::Status);
  CHECK(r.message == "status 302 not in [2xx, 301]");
  // Default: 2xx.
  auto d = assertions("");
  CHECK(eval(d, response(200, "")).success);
  CHECK(eval(d, response(503, "")).reason == FailureReason::Status);
}

TEST_CASE("assertions: body contains, not contains and regex", "[unit][assertions]") {
  auto a = assertions(R"(
body_contains = ["ok"]
body_not_contains = ["error"]
body_regex = ['"status":\s*"up"']
)");
  CHECK(eval(a, response(200, R"({"status": "up", "x": "ok"})")).success);
  auto missing = eval(a, response(200, R"({"status": "up"})"));
  CHECK(missing.reason == FailureReason::Body);
  CHECK(missing.message == "body does not contain \"ok\"");
  CHECK(eval(a, response(200, R"({"status": "up", "ok": "error"})")).message == "body contains \"error\"");
  CHECK(eval(a, response(200, R"({"status": "down", "ok": 1})")).reason == FailureReason::Body);
}

TEST_CASE("assertions: JSON pointer equals, matches, exists", "[unit][assertions][json]") {
  auto a = assertions(R"(
json = [{ pointer = "/status", equals = "up" },
        { pointer = "/items/0/sku", matches = "^A[0-9]$" },
        { pointer = "/count", equals = 3 },
        { pointer = "/gone", exists = false }]
)");
  CHECK(eval(a, response(200, R"({"status":"up","items":[{"sku":"A1"}],"count":3})")).success);
  auto r = eval(a, response(200, R"({"status":"down","items":[{"sku":"A1"}],"count":3})"));
  CHECK(r.reason == FailureReason::Json);
  CHECK(r.message == "json /status is down, expected up");
  CHECK(eval(a, response(200, R"({"status":"up","items":[{"sku":"B1"}],"count":3})")).reason ==
        FailureReason::Json);
  CHECK(eval(a, response(200, R"({"status":"up","items":[{"sku":"A1"}],"count":3,"gone":1})"))
            .message == "json /gone exists but should not");
  CHECK(eval(a, response(200, "not json")).message == "body is not valid JSON");
}

TEST_CASE("assertions: header_contains is case-insensitive on names and values", "[unit][assertions]") {
  auto a = assertions(R"(header_contains = { "Content-Type" = "json" })");
  CHECK(eval(a, response(200, "", {{"content-type", "application/JSON"}})).success);
  auto r = eval(a, response(200, "", {{"Content-Type", "text/html"}}));
  CHECK(r.reason == FailureReason::Header);
  CHECK(eval(a, response(200, "")).message == "header Content-Type is missing");
}

TEST_CASE("assertions: the first failure wins, in a fixed order", "[unit][assertions]") {
  auto a = assertions(R"(
valid_status = [200]
body_contains = ["ok"]
)");
  auto r = eval(a, response(500, "nope"));
  CHECK(r.reason == FailureReason::Status);
}

TEST_CASE("assertions: max_duration fails with reason latency", "[unit][assertions]") {
  auto a = assertions(R"(max_duration = "100ms")");
  auto fast = response(200, "");
  fast.duration = std::chrono::milliseconds(20);
  CHECK(eval(a, fast).success);
  auto slow = response(200, "");
  slow.duration = std::chrono::milliseconds(250);
  auto r = eval(a, slow);
  CHECK(r.reason == FailureReason::Latency);
  CHECK(r.message == "took 250ms, more than max_duration 100ms");
}

TEST_CASE("regex: PCRE2 survives a multi-megabyte subject", "[unit][regex]") {
  auto re = probes::Regex::compile("[ab]*c");
  REQUIRE(re.has_value());
  std::string big(8 * 1024 * 1024, 'a');
  CHECK_FALSE(re->search(big));
  big += 'c';
  CHECK(re->search(big));
  CHECK(probes::Regex::compile("order-([0-9]+)")->capture("x order-42 y") == "42");
  CHECK_FALSE(probes::Regex::compile("(unclosed").has_value());
}
