#include "config/labels.h"

#include <algorithm>
#include <array>

namespace probed::config {

bool valid_name(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '.' || c == '-';
  });
}

std::optional<std::string> label_name_problem(std::string_view s) {
  static constexpr std::array<std::string_view, 10> kReserved = {
      "check", "type", "target", "location", "reason", "phase", "step", "le", "job", "instance"};
  bool valid = !s.empty() && std::isdigit(static_cast<unsigned char>(s[0])) == 0 &&
               std::all_of(s.begin(), s.end(), [](char c) {
                 return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
               });
  if (!valid) return "label name '" + std::string(s) + "' is not a valid Prometheus label name";
  if (s.rfind("__", 0) == 0 || std::find(kReserved.begin(), kReserved.end(), s) != kReserved.end()) {
    return "label name '" + std::string(s) + "' is reserved (probed sets it)";
  }
  return std::nullopt;
}

}  // namespace probed::config
