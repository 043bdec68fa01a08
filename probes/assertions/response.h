// ResponseAssertions: every HTTP response assertion of SPEC §2 ([checks.http] and journey
// steps share it): valid_status, header_contains, body_contains, body_not_contains,
// body_regex, json, max_duration. Read once at config load; evaluate() is const.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/reader.h"
#include "probes/assertions/json_assertion.h"
#include "probes/assertions/regex.h"
#include "probes/assertions/status.h"
#include "probes/result.h"

namespace probed::probes {

struct HttpResponse {
  long status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // in order received
  std::string body;  // at most max_body_bytes
  bool body_truncated = false;
  Duration duration{};
  // Case-insensitive header lookup; nullptr when absent.
  const std::string* header(std::string_view name) const;
};

class ResponseAssertions {
 public:
  // Reads the assertion keys from t; false when one of them was invalid (errors recorded).
  bool read(config::TableReader& t);
  // Checks in a fixed order (status, header, body, json, latency); the first failure sets
  // result's reason and message. Verdicts go to `verdicts` when non-null (traces).
  void evaluate(const HttpResponse& r, Result& result, std::vector<std::string>* verdicts) const;
  bool needs_body() const;
  const StatusMatcher& status() const { return status_; }

 private:
  StatusMatcher status_;
  std::vector<std::pair<std::string, std::string>> header_contains_;
  std::vector<std::string> body_contains_;
  std::vector<std::string> body_not_contains_;
  std::vector<Regex> body_regex_;
  std::vector<JsonAssertion> json_;
  std::optional<Duration> max_duration_;
};

}  // namespace probed::probes
