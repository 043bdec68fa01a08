// libFuzzer: Prometheus file_sd JSON target lists.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/targets_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto t = probed::config::parse_targets_json(text);
  if (t) {
    for (const auto& target : *t) {
      if (target.address.empty()) __builtin_trap();
    }
  }
  return 0;
}
