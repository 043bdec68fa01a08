// libFuzzer: response bodies through the JSON pointer, body and regex assertions.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/reader.h"
#include "probes/assertions/response.h"

namespace {

const probed::probes::ResponseAssertions& assertions() {
  static const toml::table table = toml::parse(std::string_view(R"toml(
json = [{ pointer = "/status", equals = "up" }, { pointer = "/items/0/sku", matches = "^A[0-9]+$" },
        { pointer = "/a~1b/~0c", exists = true }, { pointer = "", exists = true }]
body_regex = ['"status":\s*"(up|down)"', '(a|b)*c']
body_contains = ["ok"]
)toml"));
  static probed::config::Diagnostics diags;
  static probed::probes::ResponseAssertions a = [] {
    probed::config::TableReader r({&table}, "fuzz", diags, "/");
    probed::probes::ResponseAssertions out;
    if (!out.read(r)) __builtin_trap();
    return out;
  }();
  return a;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  probed::probes::HttpResponse resp;
  resp.status = 200;
  resp.body.assign(reinterpret_cast<const char*>(data), size);
  probed::probes::Result result = probed::probes::Result::ok();
  assertions().evaluate(resp, result, nullptr);
  if (!result.success && result.message.empty()) __builtin_trap();
  return 0;
}
