// libFuzzer: journey extraction. The first line is compiled as an extract spec ("json:/p",
// "regex:...", "header:Name" or junk) and, if valid, run; the rest is the response: header
// lines up to an empty line, then the body. A fixed set of extractors runs on it too.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "probes/journey/extractor.h"

namespace {

using probed::probes::Extractor;

const std::vector<Extractor>& fixed() {
  static const std::vector<Extractor> all = [] {
    std::vector<Extractor> out;
    for (const char* s : {"json:/token", "json:/items/0/sku", "json:", "json:/a~1b/~0c",
                          "regex:order-([0-9]+)", "regex:\"token\":\\s*\"([^\"]*)\"",
                          "header:X-Order", "header:Set-Cookie"}) {
      auto e = Extractor::compile(s);
      if (!e) __builtin_trap();
      out.push_back(std::move(*e));
    }
    return out;
  }();
  return all;
}

probed::probes::HttpResponse parse_response(std::string_view rest) {
  probed::probes::HttpResponse r;
  r.status = 200;
  while (!rest.empty()) {
    size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    if (line.empty()) break;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    r.headers.emplace_back(std::string(line.substr(0, colon)), std::string(line.substr(colon + 1)));
  }
  r.body = std::string(rest);
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  size_t nl = text.find('\n');
  std::string_view spec = text.substr(0, nl);
  std::string_view rest = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
  auto response = parse_response(rest);
  if (auto e = Extractor::compile(spec)) {
    auto v = e->extract(response);
    if (!v && v.error().empty()) __builtin_trap();  // a failure always says why
  }
  for (const auto& e : fixed()) {
    auto v = e.extract(response);
    if (!v && v.error().empty()) __builtin_trap();
  }
  return 0;
}
