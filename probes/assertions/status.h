// StatusMatcher: valid_status = ["2xx", 301] (SPEC §2). Parsed at config load; matches() is
// const and thread-safe.
#pragma once

#include <string>
#include <vector>

#include "config/reader.h"

namespace probed::probes {

class StatusMatcher {
 public:
  StatusMatcher() : classes_{2} {}  // default: "2xx"
  // Reads `key` from the table (an array of codes and "Nxx" classes); errors go to the reader.
  static std::optional<StatusMatcher> read(config::TableReader& t, std::string_view key);
  bool matches(long code) const;
  std::string describe() const;  // "[2xx, 301]"

 private:
  std::vector<int> classes_;  // 2 for "2xx"
  std::vector<int> codes_;
};

}  // namespace probed::probes
