#include "probes/journey/extractor.h"

#include <algorithm>

#include "probes/assertions/json_assertion.h"

namespace probed::probes {
namespace {

// RFC 9110 token characters: what a header name may hold.
bool valid_header_name(std::string_view name) {
  static constexpr std::string_view kExtra = "!#$%&'*+-.^_`|~";
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           kExtra.find(c) != std::string_view::npos;
  });
}

}  // namespace

base::Expected<Extractor> Extractor::compile(std::string_view spec) {
  Extractor e;
  e.spec_ = std::string(spec);
  auto colon = spec.find(':');
  std::string_view kind = spec.substr(0, colon == std::string_view::npos ? spec.size() : colon);
  std::string_view arg = colon == std::string_view::npos ? "" : spec.substr(colon + 1);
  e.argument_ = std::string(arg);
  if (kind == "json") {
    e.kind_ = Kind::Json;
    if (!arg.empty() && arg.front() != '/') {
      return base::unexpected("invalid JSON pointer \"" + e.argument_ +
                              "\": it must be empty or start with '/'");
    }
    try {
      e.pointer_ = nlohmann::json::json_pointer(e.argument_);
    } catch (const nlohmann::json::exception& ex) {
      return base::unexpected("invalid JSON pointer \"" + e.argument_ + "\": " + ex.what());
    }
  } else if (kind == "regex") {
    e.kind_ = Kind::Regex;
    auto re = Regex::compile(arg);
    if (!re) return base::unexpected("invalid regex \"" + e.argument_ + "\": " + re.error());
    if (re->capture_count() != 1) {
      return base::unexpected("regex \"" + e.argument_ + "\" must have exactly one capture group (has " +
                              std::to_string(re->capture_count()) + ")");
    }
    e.regex_ = std::move(*re);
  } else if (kind == "header") {
    e.kind_ = Kind::Header;
    if (!valid_header_name(arg)) {
      return base::unexpected("invalid header name \"" + e.argument_ + "\" in \"" + e.spec_ + "\"");
    }
  } else {
    return base::unexpected("unknown extraction \"" + e.spec_ +
                            "\": use \"json:/pointer\", \"regex:PATTERN\" or \"header:Name\"");
  }
  return e;
}

base::Expected<std::string> Extractor::from_json(const std::string& body) const {
  auto doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return base::unexpected(std::string("body is not JSON"));
  try {
    if (!doc.contains(pointer_)) {
      return base::unexpected("no JSON value at \"" + argument_ + "\"");
    }
    return json_text(doc.at(pointer_));
  } catch (const nlohmann::json::exception&) {
    // An array index that is not a number, or out of range.
    return base::unexpected("no JSON value at \"" + argument_ + "\"");
  }
}

base::Expected<std::string> Extractor::extract(const HttpResponse& response) const {
  switch (kind_) {
    case Kind::Json:
      return from_json(response.body);
    case Kind::Regex: {
      auto v = regex_->capture(response.body);
      if (!v) return base::unexpected("body does not match \"" + argument_ + "\"");
      return *v;
    }
    case Kind::Header: {
      const std::string* v = response.header(argument_);
      if (v == nullptr) return base::unexpected("no header '" + argument_ + "'");
      return *v;
    }
  }
  return base::unexpected(std::string("unknown extraction"));
}

}  // namespace probed::probes
