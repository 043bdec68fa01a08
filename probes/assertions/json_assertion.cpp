#include "probes/assertions/json_assertion.h"

namespace probed::probes {

std::string json_text(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

std::optional<JsonAssertion> JsonAssertion::read(config::TableReader& t) {
  JsonAssertion a;
  bool ok = true;
  auto ptr = t.string("pointer");
  if (!ptr) {
    if (!t.has("pointer")) t.error_here("json assertion needs a 'pointer' such as \"/status\"");
    ok = false;
  } else {
    try {
      a.pointer_ = nlohmann::json::json_pointer(*ptr);
      a.pointer_text_ = *ptr;
    } catch (const nlohmann::json::exception& e) {
      t.error_at("pointer", "invalid JSON pointer \"" + *ptr + "\" (RFC 6901: \"\" or \"/a/0/b\")");
      ok = false;
    }
  }
  int ops = 0;
  if (const auto* n = t.node("equals")) {
    ++ops;
    a.op_ = Op::Equals;
    if (const auto* s = n->as_string()) a.expected_ = s->get();
    else if (const auto* i = n->as_integer()) a.expected_ = i->get();
    else if (const auto* f = n->as_floating_point()) a.expected_ = f->get();
    else if (const auto* b = n->as_boolean()) a.expected_ = b->get();
    else {
      t.error_at("equals", "'equals' must be a string, number or boolean");
      ok = false;
    }
  }
  if (auto m = t.string("matches")) {
    ++ops;
    a.op_ = Op::Matches;
    auto re = Regex::compile(*m);
    if (!re) {
      t.error_at("matches", re.error());
      ok = false;
    } else {
      a.regex_ = std::move(*re);
    }
  }
  if (auto e = t.boolean("exists")) {
    ++ops;
    a.op_ = Op::Exists;
    a.exists_ = *e;
  }
  if (ops > 1) {
    t.error_here("json assertion takes one of 'equals', 'matches', 'exists'");
    ok = false;
  }
  t.finish();
  if (!ok) return std::nullopt;
  return a;
}

std::optional<std::string> JsonAssertion::evaluate(const nlohmann::json& doc) const {
  const nlohmann::json* v = nullptr;
  try {
    if (doc.contains(pointer_)) v = &doc.at(pointer_);
  } catch (const nlohmann::json::exception&) {
    v = nullptr;  // e.g. "/a/x" into an array
  }
  switch (op_) {
    case Op::Exists:
      if ((v != nullptr) == exists_) return std::nullopt;
      return exists_ ? "json " + pointer_text_ + " is missing"
                     : "json " + pointer_text_ + " exists but should not";
    case Op::Equals: {
      if (v == nullptr) return "json " + pointer_text_ + " is missing (expected " + json_text(expected_) + ")";
      bool eq = *v == expected_;
      // equals = "3" also matches the number 3, as its text.
      if (!eq && expected_.is_string() && !v->is_string()) eq = json_text(*v) == json_text(expected_);
      if (eq) return std::nullopt;
      return "json " + pointer_text_ + " is " + json_text(*v).substr(0, 80) + ", expected " +
             json_text(expected_);
    }
    case Op::Matches:
      if (v == nullptr) return "json " + pointer_text_ + " is missing (expected to match /" + regex_->pattern() + "/)";
      if (regex_->search(json_text(*v))) return std::nullopt;
      return "json " + pointer_text_ + " is " + json_text(*v).substr(0, 80) + ", expected to match /" +
             regex_->pattern() + "/";
  }
  return std::nullopt;
}

}  // namespace probed::probes
