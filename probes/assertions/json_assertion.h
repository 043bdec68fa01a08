// JSON pointer assertions: json = [{ pointer = "/status", equals = "up" }] with equals,
// matches (regex on the value's text) or exists (RFC 6901 pointers, nlohmann::json_pointer).
// Compiled at config load; evaluate() is const and thread-safe.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/reader.h"
#include "probes/assertions/regex.h"

namespace probed::probes {

class JsonAssertion {
 public:
  static std::optional<JsonAssertion> read(config::TableReader& t);
  // nullopt when it holds; else "expected ..., found ..." for the message.
  std::optional<std::string> evaluate(const nlohmann::json& doc) const;
  const std::string& pointer_text() const { return pointer_text_; }

 private:
  enum class Op { Equals, Matches, Exists };
  std::string pointer_text_;
  nlohmann::json::json_pointer pointer_;
  Op op_ = Op::Exists;
  nlohmann::json expected_;  // Equals
  std::optional<Regex> regex_;
  bool exists_ = true;
};

// The value's text form: strings without quotes, everything else as compact JSON.
std::string json_text(const nlohmann::json& v);

}  // namespace probed::probes
