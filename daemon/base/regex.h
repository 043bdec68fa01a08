// Regex: a compiled PCRE2 pattern (PCRE2 rather than std::regex: libstdc++'s regex recurses
// per character and overflows the stack on multi-megabyte bodies). Compiled once at config
// load; match() is const and thread-safe (match data is per call). In base/ because both
// config/ ([probe_endpoint] allowed_targets) and probes/ (assertions) compile patterns.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "daemon/base/expected.h"

namespace probed::base {

class Regex {
 public:
  static Expected<Regex> compile(std::string_view pattern);
  bool search(std::string_view subject) const;
  // The first capture group of the first match (the whole match when there is no group).
  std::optional<std::string> capture(std::string_view subject) const;
  const std::string& pattern() const { return pattern_; }
  int capture_count() const { return captures_; }

 private:
  struct Code;
  std::shared_ptr<const Code> code_;
  std::string pattern_;
  int captures_ = 0;
};

}  // namespace probed::probes
