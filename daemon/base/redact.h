// The process-wide list of secret values (from ${env:}, ${file:}, password_file,
// bearer_token_file). Every sink that prints text (logs, traces, result messages, the status
// page) passes it through redact(). Thread-safe: writers take a lock, readers a shared lock.
#pragma once

#include <string>
#include <string_view>

namespace probed::base {

inline constexpr std::string_view kSecretMask = "<secret>";

// Values shorter than this are not registered: masking every "a" would garble all output.
inline constexpr size_t kMinSecretLength = 3;

void register_secret(std::string_view value);
std::string redact(std::string_view text);

}  // namespace probed::base
