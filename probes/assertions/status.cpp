#include "probes/assertions/status.h"

#include <algorithm>

namespace probed::probes {

std::optional<StatusMatcher> StatusMatcher::read(config::TableReader& t, std::string_view key) {
  const toml::node* n = t.node(key);
  if (n == nullptr) return std::nullopt;
  StatusMatcher m;
  m.classes_.clear();
  auto add = [&](const toml::node& el) {
    if (const auto* i = el.as_integer()) {
      int64_t v = i->get();
      if (v < 100 || v > 599) {
        t.error_at(el, "status code " + std::to_string(v) + " is outside 100-599");
        return false;
      }
      m.codes_.push_back(static_cast<int>(v));
      return true;
    }
    if (const auto* s = el.as_string()) {
      const std::string& v = s->get();
      if (v.size() == 3 && v[0] >= '1' && v[0] <= '5' && (v.substr(1) == "xx" || v.substr(1) == "XX")) {
        m.classes_.push_back(v[0] - '0');
        return true;
      }
      if (v.size() == 3 && std::all_of(v.begin(), v.end(), ::isdigit)) {
        int code = std::stoi(v);
        if (code >= 100 && code <= 599) {
          m.codes_.push_back(code);
          return true;
        }
      }
      t.error_at(el, "invalid status \"" + v + "\" in '" + std::string(key) +
                         "' (use a code such as 200 or a class such as \"2xx\")");
      return false;
    }
    t.error_at(el, "'" + std::string(key) + "' entries must be status codes or \"Nxx\" classes");
    return false;
  };
  bool ok = true;
  if (const auto* arr = n->as_array()) {
    if (arr->empty()) {
      t.error_at(*n, "'" + std::string(key) + "' must not be empty");
      return std::nullopt;
    }
    for (const auto& el : *arr) ok = add(el) && ok;
  } else {
    ok = add(*n);  // a single value is accepted too: valid_status = 200
  }
  if (!ok) return std::nullopt;
  return m;
}

bool StatusMatcher::matches(long code) const {
  if (std::find(codes_.begin(), codes_.end(), code) != codes_.end()) return true;
  return std::find(classes_.begin(), classes_.end(), code / 100) != classes_.end();
}

std::string StatusMatcher::describe() const {
  std::string out = "[";
  for (int c : classes_) out += (out.size() > 1 ? ", " : "") + std::to_string(c) + "xx";
  for (int c : codes_) out += (out.size() > 1 ? ", " : "") + std::to_string(c);
  return out + "]";
}

}  // namespace probed::probes
