// libFuzzer: whole config files through the loader. Any input must give a Config or
// diagnostics, never a crash, hang or leak, and every diagnostic names its FILE:LINE:COL.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/loader.h"
#include "probes/probe.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto r = probed::config::load_config_text(text, "fuzz.toml", "/nonexistent",
                                            probed::probes::config_probe_types());
  if (!r.ok() && r.diags.empty()) __builtin_trap();  // an invalid config must say why
  for (const auto& d : r.diags.sorted()) {
    if (d.pos.file.empty() || d.pos.line == 0 || d.pos.col == 0 || d.message.empty()) __builtin_trap();
  }
  return 0;
}
