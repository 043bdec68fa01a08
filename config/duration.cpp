#include "config/duration.h"

#include <array>
#include <cmath>
#include <cstdint>
#include <limits>

namespace probed::config {
namespace {

struct Unit {
  std::string_view name;
  int64_t nanos;
};
// Longest names first so "ms" is not read as "m" followed by "s".
constexpr std::array<Unit, 5> kUnits{{{"ms", 1'000'000},
                                      {"s", 1'000'000'000},
                                      {"m", 60'000'000'000},
                                      {"h", 3'600'000'000'000},
                                      {"d", 86'400'000'000'000}}};

std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

}  // namespace

base::Expected<base::Duration> parse_duration(std::string_view text) {
  if (text.empty()) return base::unexpected("empty duration (write e.g. \"30s\")");
  const std::string bad = "invalid duration " + quoted(text) + ": ";
  long double total = 0;
  int64_t last_unit = std::numeric_limits<int64_t>::max();
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) != 0)) ++i;
    if (i < text.size() && text[i] == '.') {
      ++i;
      while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) != 0)) ++i;
    }
    std::string_view number = text.substr(start, i - start);
    if (number.empty() || number == ".") {
      return base::unexpected(bad + "expected a number at position " + std::to_string(start + 1));
    }
    if (number.size() > 18) return base::unexpected(bad + "number too large");
    const Unit* unit = nullptr;
    for (const auto& u : kUnits) {
      if (text.substr(i, u.name.size()) == u.name) {
        unit = &u;
        break;
      }
    }
    if (unit == nullptr) {
      if (i >= text.size()) return base::unexpected(bad + "missing unit (use ms, s, m, h or d)");
      return base::unexpected(bad + "unknown unit '" + std::string(1, text[i]) +
                              "' (use ms, s, m, h or d)");
    }
    if (unit->nanos >= last_unit) {
      return base::unexpected(bad + "units must be in descending order, each at most once");
    }
    last_unit = unit->nanos;
    i += unit->name.size();
    total += std::stold(std::string(number)) * static_cast<long double>(unit->nanos);
    // Cap at 100 years: far beyond any interval, far below int64 nanoseconds overflow.
    if (total > 100.0L * 365 * 86'400'000'000'000.0L) {
      return base::unexpected(bad + "too large");
    }
  }
  return base::Duration(static_cast<int64_t>(std::llround(total)));
}

std::string format_duration(base::Duration d) {
  int64_t ns = d.count();
  if (ns == 0) return "0s";
  std::string out;
  if (ns < 0) {
    out = "-";
    ns = -ns;
  }
  for (auto it = kUnits.rbegin(); it != kUnits.rend(); ++it) {
    if (ns >= it->nanos) {
      out += std::to_string(ns / it->nanos);
      out += it->name;
      ns %= it->nanos;
    }
  }
  if (ns > 0) out += std::to_string(ns) + "ns";  // below a millisecond: rare, but exact
  return out;
}

}  // namespace probed::config
