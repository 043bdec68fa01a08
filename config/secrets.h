// ${env:NAME} and ${file:PATH} references in config strings (SPEC §2). Values taken this way
// are secrets: expand_refs() registers them with base::register_secret so every printing sink
// masks them. Thread-safe (pure apart from the redactor registration).
#pragma once

#include <string>
#include <string_view>

#include "daemon/base/expected.h"

namespace probed::config {

struct ExpandOptions {
  std::string base_dir;     // relative ${file:} paths are read from the config file's folder
  bool allow_vars = false;  // journeys: leave ${name} for run time instead of rejecting it
};

// Expands every ${env:NAME} and ${file:PATH} (file content, trailing newlines trimmed). "$${"
// is a literal "${". An unset variable, an unreadable file or an unknown ${...} form is an
// error naming it.
base::Expected<std::string> expand_refs(std::string_view text, const ExpandOptions& opts);

// Reads a secret file (password_file, bearer_token_file): content, trailing newline trimmed,
// registered as a secret.
base::Expected<std::string> read_secret_file(const std::string& path, const std::string& base_dir);

// Resolves a path from the config against the config file's folder.
std::string resolve_path(const std::string& path, const std::string& base_dir);

}  // namespace probed::config
