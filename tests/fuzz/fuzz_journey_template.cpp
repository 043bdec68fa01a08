// libFuzzer: journey variable substitution. The input is compiled as a step template (files
// are read relative to a folder that does not exist, so only absolute paths are opened, with
// bounded reads) and rendered with a fixed set of variables.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "probes/journey/template.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  probed::config::ExpandOptions opts{"/nonexistent", false};
  auto t = probed::probes::Template::compile(text, opts);
  if (!t) return 0;
  // A value is inserted verbatim and never scanned again, even when it looks like a reference.
  probed::probes::Variables vars{{"target", "http://t.example/"}, {"base", "${base}"},
                                 {"token", "$${x}"}};
  auto out = t->render(vars);
  bool all_defined = true;
  for (const auto& v : t->variables()) {
    if (!probed::probes::valid_variable_name(v)) __builtin_trap();
    all_defined = all_defined && vars.count(v) != 0;
  }
  if (out.has_value() != all_defined) __builtin_trap();
  // Without '$' the text comes back unchanged.
  if (out && text.find('$') == std::string_view::npos && *out != text) __builtin_trap();
  std::string shown = t->display(vars, {"token"});
  if (out && t->variables().empty() && shown != *out) __builtin_trap();
  return 0;
}
