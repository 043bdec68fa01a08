// Template: a journey string (url, header value, body) compiled at config load into literal
// parts and ${name} variable references. ${env:NAME} and ${file:PATH} are expanded at load
// (and registered as secrets, config/secrets.h); "$${" is a literal "${". A run renders it
// with the run's variables; a value is inserted verbatim, never scanned again. Immutable after
// compile; render() is const and thread-safe.
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "config/secrets.h"
#include "daemon/base/expected.h"

namespace probed::probes {

// Variable name -> value, for one journey run.
using Variables = std::map<std::string, std::string, std::less<>>;

// [A-Za-z_][A-Za-z0-9_]*, at most 64 characters.
bool valid_variable_name(std::string_view name);

class Template {
 public:
  // Compiles raw config text. Errors name the bad reference ("unterminated ...", "invalid
  // variable name ...", or the env/file error).
  static base::Expected<Template> compile(std::string_view raw, const config::ExpandOptions& opts);

  // The ${name} variables it uses, in order of first use.
  std::vector<std::string> variables() const;
  bool empty() const { return parts_.empty(); }
  // The text with every variable replaced; the error is the name of the first undefined one.
  base::Expected<std::string> render(const Variables& vars) const;
  // Like render(), but the variables in `hidden` (values taken from responses) are shown as
  // ${name}: for traces, which print variable names, never extracted values.
  std::string display(const Variables& vars, const std::set<std::string>& hidden) const;

 private:
  struct Part {
    bool variable = false;
    std::string text;  // literal text, or the variable name
  };
  std::vector<Part> parts_;
};

}  // namespace probed::probes
