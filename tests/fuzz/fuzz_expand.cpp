// libFuzzer: ${env:NAME} / ${file:PATH} / $${ expansion. Files are read relative to a
// folder that does not exist, so only absolute paths are opened (bounded reads).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/secrets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  probed::config::ExpandOptions opts{"/nonexistent", size % 2 == 0};
  auto out = probed::config::expand_refs(text, opts);
  // Without references the text comes back unchanged.
  if (out && text.find('$') == std::string_view::npos && *out != text) __builtin_trap();
  return 0;
}
