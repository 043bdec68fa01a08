#include "probes/journey/template.h"

#include <algorithm>

namespace probed::probes {
namespace {

constexpr size_t kMaxVariableName = 64;

bool is_ref(std::string_view inner) {
  return inner.rfind("env:", 0) == 0 || inner.rfind("file:", 0) == 0;
}

}  // namespace

bool valid_variable_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxVariableName) return false;
  auto word = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (c >= '0' && c <= '9');
  };
  if (name.front() >= '0' && name.front() <= '9') return false;
  return std::all_of(name.begin(), name.end(), word);
}

base::Expected<Template> Template::compile(std::string_view raw,
                                           const config::ExpandOptions& opts) {
  Template t;
  auto literal = [&t](std::string_view text) {
    if (text.empty()) return;
    if (t.parts_.empty() || t.parts_.back().variable) t.parts_.push_back({false, ""});
    t.parts_.back().text += text;
  };
  size_t i = 0;
  while (i < raw.size()) {
    if (raw.compare(i, 3, "$${") == 0) {
      literal("${");
      i += 3;
      continue;
    }
    if (raw.compare(i, 2, "${") != 0) {
      size_t next = raw.find('$', i + 1);
      if (next == std::string_view::npos) next = raw.size();
      literal(raw.substr(i, next - i));
      i = next;
      continue;
    }
    size_t close = raw.find('}', i + 2);
    if (close == std::string_view::npos) {
      return base::unexpected(std::string("unterminated \"${\" (write \"$${\" for a literal \"${\")"));
    }
    std::string_view inner = raw.substr(i + 2, close - i - 2);
    if (is_ref(inner)) {
      // The same expansion as every other config string: a secret, registered for redaction.
      auto v = config::expand_refs(raw.substr(i, close - i + 1), opts);
      if (!v) return base::unexpected(v.error());
      literal(*v);
    } else if (valid_variable_name(inner)) {
      t.parts_.push_back({true, std::string(inner)});
    } else {
      return base::unexpected("invalid reference \"${" + std::string(inner) +
                              "}\": use ${name} for a journey variable, ${env:NAME} or "
                              "${file:PATH} (\"$${\" for a literal \"${\")");
    }
    i = close + 1;
  }
  return t;
}

std::vector<std::string> Template::variables() const {
  std::vector<std::string> out;
  for (const auto& p : parts_) {
    if (p.variable && std::find(out.begin(), out.end(), p.text) == out.end()) out.push_back(p.text);
  }
  return out;
}

base::Expected<std::string> Template::render(const Variables& vars) const {
  std::string out;
  for (const auto& p : parts_) {
    if (!p.variable) {
      out += p.text;
      continue;
    }
    auto it = vars.find(p.text);
    if (it == vars.end()) return base::unexpected(p.text);
    out += it->second;
  }
  return out;
}

std::string Template::display(const Variables& vars, const std::set<std::string>& hidden) const {
  std::string out;
  for (const auto& p : parts_) {
    auto it = vars.find(p.text);
    if (!p.variable) {
      out += p.text;
    } else if (hidden.count(p.text) != 0 || it == vars.end()) {
      out += "${" + p.text + "}";
    } else {
      out += it->second;
    }
  }
  return out;
}

}  // namespace probed::probes
