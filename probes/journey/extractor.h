// Extractor: one `extract` entry of a journey step, compiled at config load: "json:/pointer"
// (RFC 6901, the value's text form as json assertions print it), "regex:PATTERN" (PCRE2, exactly
// one capture group, searched in the body) or "header:Name" (case-insensitive, first value).
// Immutable after compile; extract() is const and thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "daemon/base/expected.h"
#include "probes/assertions/regex.h"
#include "probes/assertions/response.h"

namespace probed::probes {

class Extractor {
 public:
  enum class Kind { Json, Regex, Header };

  // Errors: "unknown extraction 'xml:...'", "regex ... must have exactly one capture group",
  // "invalid JSON pointer ...".
  static base::Expected<Extractor> compile(std::string_view spec);

  // The value, or why there is none ("no JSON value at /token", "body does not match ...").
  base::Expected<std::string> extract(const HttpResponse& response) const;
  // Whether extract() reads the body (the transfer must then keep it).
  bool needs_body() const { return kind_ != Kind::Header; }
  Kind kind() const { return kind_; }
  const std::string& spec() const { return spec_; }

 private:
  base::Expected<std::string> from_json(const std::string& body) const;

  Kind kind_ = Kind::Header;
  std::string spec_;
  std::string argument_;  // pointer text, pattern or header name
  nlohmann::json::json_pointer pointer_;
  std::optional<Regex> regex_;
};

}  // namespace probed::probes
