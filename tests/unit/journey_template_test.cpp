// Journey templates (${name} variables, ${env:} at load, $${ escapes) and extractors
// (json:/pointer, regex:, header:), as pure code.
#include <catch2/catch.hpp>

#include <cstdlib>

#include "daemon/base/redact.h"
#include "probes/journey/extractor.h"
#include "probes/journey/template.h"

using namespace probed::probes;

namespace {

Template compile(const std::string& raw) {
  auto t = Template::compile(raw, {"/nonexistent", false});
  INFO(raw << ": " << (t ? "" : t.error()));
  REQUIRE(t.has_value());
  return std::move(*t);
}

HttpResponse response(const std::string& body) {
  HttpResponse r;
  r.status = 200;
  r.body = body;
  r.headers = {{"Content-Type", "application/json"}, {"X-Order", "42"}};
  return r;
}

}  // namespace

TEST_CASE("journey template: variables render, $${ is literal, values are not re-scanned",
          "[unit][journey]") {
  auto t = compile("${base}/cart/${order}?x=$${literal}");
  CHECK(t.variables() == std::vector<std::string>{"base", "order"});
  Variables vars{{"base", "http://h"}, {"order", "${base}"}};
  auto out = t.render(vars);
  REQUIRE(out.has_value());
  CHECK(*out == "http://h/cart/${base}?x=${literal}");
  CHECK(t.display(vars, {"order"}) == "http://h/cart/${order}?x=${literal}");
  // The failing twin: a missing variable is named.
  auto missing = t.render({{"base", "http://h"}});
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error() == "order");
}

TEST_CASE("journey template: ${env:} expands at load as a secret, bad references are errors",
          "[unit][journey]") {
  ::setenv("PROBED_UNIT_JOURNEY_SECRET", "unit-journey-secret-1", 1);
  auto t = compile("Bearer ${env:PROBED_UNIT_JOURNEY_SECRET}");
  CHECK(t.variables().empty());
  CHECK(*t.render({}) == "Bearer unit-journey-secret-1");
  CHECK(probed::base::redact("x unit-journey-secret-1 y") == "x <secret> y");
  for (const char* bad : {"${a b}", "${", "${1x}", "${env:PROBED_UNIT_UNSET_VAR}", "${nope:x}"}) {
    INFO(bad);
    CHECK_FALSE(Template::compile(bad, {"/nonexistent", false}).has_value());
  }
}

TEST_CASE("journey extractor: json, regex and header extract, and fail with a reason",
          "[unit][journey]") {
  auto r = response(R"({"token":"abc","items":[{"sku":"A1","qty":2}],"note":"order-42"})");
  CHECK(*Extractor::compile("json:/token")->extract(r) == "abc");
  CHECK(*Extractor::compile("json:/items/0/qty")->extract(r) == "2");
  CHECK(*Extractor::compile("regex:order-([0-9]+)")->extract(r) == "42");
  CHECK(*Extractor::compile("header:x-order")->extract(r) == "42");
  CHECK(Extractor::compile("json:/nope")->extract(r).error() == "no JSON value at \"/nope\"");
  CHECK(Extractor::compile("json:/items/x")->extract(r).error() == "no JSON value at \"/items/x\"");
  CHECK(Extractor::compile("json:/token")->extract(response("not json")).error() == "body is not JSON");
  CHECK_FALSE(Extractor::compile("regex:cart-([0-9]+)")->extract(r).has_value());
  CHECK(Extractor::compile("header:Location")->extract(r).error() == "no header 'Location'");
}

TEST_CASE("journey extractor: bad specs are refused at load", "[unit][journey]") {
  CHECK_THAT(Extractor::compile("xml:/a").error(), Catch::Contains("unknown extraction"));
  CHECK_THAT(Extractor::compile("regex:a+").error(), Catch::Contains("exactly one capture group (has 0)"));
  CHECK_THAT(Extractor::compile("regex:(a)(b)").error(), Catch::Contains("(has 2)"));
  CHECK_THAT(Extractor::compile("regex:(").error(), Catch::Contains("invalid regex"));
  CHECK_THAT(Extractor::compile("json:token").error(), Catch::Contains("invalid JSON pointer"));
  CHECK_THAT(Extractor::compile("json:/a~2").error(), Catch::Contains("invalid JSON pointer"));
  CHECK_THAT(Extractor::compile("header:").error(), Catch::Contains("invalid header name"));
  CHECK(Extractor::compile("json:").has_value());  // the whole document
}
