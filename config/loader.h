// load_config(): TOML file -> validated Config plus every error with its position. The one
// place that catches toml::parse_error. Blocking (reads files); call it at start-up, from the
// CLI, or off the loop for reloads.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "config/config.h"
#include "config/diagnostics.h"
#include "config/probe_type.h"

namespace probed::config {

struct LoadResult {
  std::shared_ptr<const Config> config;  // null when diags has errors
  Diagnostics diags;
  bool ok() const { return config != nullptr; }
};

LoadResult load_config(const std::string& path, const ProbeTypes& types);
// path_label names the text in diagnostics; base_dir resolves relative file paths.
LoadResult load_config_text(std::string_view text, const std::string& path_label,
                            const std::string& base_dir, const ProbeTypes& types);

// The embedded default config (config/default.toml, compiled in).
std::string_view default_config_text();
inline constexpr const char* kDefaultConfigLabel = "<default>";

}  // namespace probed::config
