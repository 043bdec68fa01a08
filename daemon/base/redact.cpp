#include "daemon/base/redact.h"

#include <algorithm>
#include <mutex>
#include <shared_mutex>
#include <vector>

namespace probed::base {
namespace {

std::shared_mutex& secrets_mutex() {
  static std::shared_mutex m;
  return m;
}
std::vector<std::string>& secrets() {
  static std::vector<std::string> s;
  return s;
}

}  // namespace

void register_secret(std::string_view value) {
  // A secret read from a file may end in spaces or CR; mask the trimmed form too.
  while (!value.empty() && (value.back() == '\r' || value.back() == ' ')) value.remove_suffix(1);
  if (value.size() < kMinSecretLength) return;
  std::unique_lock lock(secrets_mutex());
  auto& s = secrets();
  if (std::find(s.begin(), s.end(), value) != s.end()) return;
  s.emplace_back(value);
  // Longest first, so a secret that contains another is masked whole.
  std::sort(s.begin(), s.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
}

std::string redact(std::string_view text) {
  std::string out(text);
  std::shared_lock lock(secrets_mutex());
  for (const auto& secret : secrets()) {
    size_t pos = 0;
    while ((pos = out.find(secret, pos)) != std::string::npos) {
      out.replace(pos, secret.size(), kSecretMask);
      pos += kSecretMask.size();
    }
  }
  return out;
}

}  // namespace probed::base
