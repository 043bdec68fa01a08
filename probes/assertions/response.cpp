#include "probes/assertions/response.h"

#include <algorithm>
#include <strings.h>

#include "config/duration.h"

namespace probed::probes {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

bool icontains(std::string_view hay, std::string_view needle) {
  auto it = std::search(hay.begin(), hay.end(), needle.begin(), needle.end(),
                        [](char a, char b) { return std::tolower(a) == std::tolower(b); });
  return it != hay.end();
}

std::string quote(std::string_view s) {
  std::string v(s.substr(0, 60));
  if (s.size() > 60) v += "...";
  return "\"" + v + "\"";
}

}  // namespace

const std::string* HttpResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) return &v;
  }
  return nullptr;
}

bool ResponseAssertions::read(config::TableReader& t) {
  size_t before = t.diags().size();
  if (auto s = StatusMatcher::read(t, "valid_status")) status_ = *s;
  if (auto m = t.string_map("header_contains")) header_contains_ = *m;
  if (auto v = t.strings("body_contains")) body_contains_ = *v;
  if (auto v = t.strings("body_not_contains")) body_not_contains_ = *v;
  if (auto v = t.strings("body_regex")) {
    const auto* arr = t.node("body_regex")->as_array();
    for (size_t i = 0; i < v->size(); ++i) {
      auto re = Regex::compile((*v)[i]);
      if (!re) {
        t.error_at(*arr->get(i), re.error());
        continue;
      }
      body_regex_.push_back(std::move(*re));
    }
  }
  for (auto& jt : t.table_array("json")) {
    if (auto a = JsonAssertion::read(jt)) json_.push_back(std::move(*a));
  }
  if (auto d = t.duration("max_duration")) max_duration_ = *d;
  return t.diags().size() == before;
}

bool ResponseAssertions::needs_body() const {
  return !body_contains_.empty() || !body_not_contains_.empty() || !body_regex_.empty() ||
         !json_.empty();
}

void ResponseAssertions::evaluate(const HttpResponse& r, Result& result,
                                  std::vector<std::string>* verdicts) const {
  auto note = [&](bool ok, const std::string& what) {
    if (verdicts != nullptr) verdicts->push_back((ok ? "ok   " : "FAIL ") + what);
  };
  bool status_ok = status_.matches(r.status);
  note(status_ok, "status " + std::to_string(r.status) + " in " + status_.describe());
  if (!status_ok) {
    result.fail_with(FailureReason::Status,
                     "status " + std::to_string(r.status) + " not in " + status_.describe());
  }
  for (const auto& [name, want] : header_contains_) {
    const std::string* v = r.header(name);
    bool ok = v != nullptr && icontains(*v, want);
    note(ok, "header " + name + " contains " + quote(want));
    if (!ok) {
      result.fail_with(FailureReason::Header,
                       v == nullptr ? "header " + name + " is missing"
                                    : "header " + name + ": " + quote(*v) + " does not contain " +
                                          quote(want));
    }
  }
  for (const auto& want : body_contains_) {
    bool ok = r.body.find(want) != std::string::npos;
    note(ok, "body contains " + quote(want));
    if (!ok) result.fail_with(FailureReason::Body, "body does not contain " + quote(want));
  }
  for (const auto& bad : body_not_contains_) {
    bool ok = r.body.find(bad) == std::string::npos;
    note(ok, "body does not contain " + quote(bad));
    if (!ok) result.fail_with(FailureReason::Body, "body contains " + quote(bad));
  }
  for (const auto& re : body_regex_) {
    bool ok = re.search(r.body);
    note(ok, "body matches /" + re.pattern() + "/");
    if (!ok) result.fail_with(FailureReason::Body, "body does not match /" + re.pattern() + "/");
  }
  if (!json_.empty()) {
    nlohmann::json doc = nlohmann::json::parse(r.body, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded()) {
      note(false, "body is JSON");
      result.fail_with(FailureReason::Json,
                       r.body_truncated ? "body is not valid JSON (truncated at max_body_bytes)"
                                        : "body is not valid JSON");
    } else {
      for (const auto& a : json_) {
        auto err = a.evaluate(doc);
        note(!err, "json " + a.pointer_text() + (err ? ": " + *err : ""));
        if (err) result.fail_with(FailureReason::Json, *err);
      }
    }
  }
  if (max_duration_) {
    bool ok = r.duration <= *max_duration_;
    note(ok, "took " + config::format_duration(std::chrono::duration_cast<std::chrono::milliseconds>(r.duration)) +
                 " <= max_duration " + config::format_duration(*max_duration_));
    if (!ok) {
      result.fail_with(FailureReason::Latency,
                       "took " + config::format_duration(std::chrono::duration_cast<std::chrono::milliseconds>(r.duration)) +
                           ", more than max_duration " + config::format_duration(*max_duration_));
    }
  }
}

}  // namespace probed::probes
