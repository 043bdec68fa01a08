// libFuzzer: the duration parser; a parsed duration must format and parse back to itself.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/duration.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto d = probed::config::parse_duration(text);
  if (d && d->count() >= 0) {
    auto again = probed::config::parse_duration(probed::config::format_duration(*d));
    // Sub-millisecond remainders format as "ns", which the parser rejects by design.
    if (again && *again != *d) __builtin_trap();
  }
  return 0;
}
