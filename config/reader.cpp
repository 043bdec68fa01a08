#include "config/reader.h"

#include <algorithm>

#include "config/duration.h"
#include "config/secrets.h"

namespace probed::config {
namespace {

Position to_position(const toml::source_region& r) {
  Position p;
  p.file = r.path ? *r.path : std::string("<config>");
  p.line = r.begin.line;
  p.col = r.begin.column;
  return p;
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

std::string toml_type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string: return "string";
    case toml::node_type::integer: return "integer";
    case toml::node_type::floating_point: return "float";
    case toml::node_type::boolean: return "boolean";
    case toml::node_type::table: return "table";
    case toml::node_type::array: return "array";
    case toml::node_type::date: return "date";
    case toml::node_type::time: return "time";
    case toml::node_type::date_time: return "date-time";
    default: return "value";
  }
}

TableReader::TableReader(std::vector<const toml::table*> layers, std::string where,
                         Diagnostics& diags, std::string base_dir, bool allow_vars)
    : layers_(std::move(layers)),
      where_(std::move(where)),
      diags_(&diags),
      base_dir_(std::move(base_dir)),
      allow_vars_(allow_vars) {
  layers_.erase(std::remove(layers_.begin(), layers_.end(), nullptr), layers_.end());
}

const toml::table* TableReader::raw_top() const {
  return layers_.empty() ? &empty_table() : layers_.front();
}

bool TableReader::has(std::string_view key) const { return find(key) != nullptr; }

const toml::node* TableReader::find(std::string_view key) const {
  for (const auto* t : layers_) {
    if (const auto* n = t->get(key)) return n;
  }
  return nullptr;
}

std::pair<const toml::key*, const toml::node*> TableReader::find_top(std::string_view key) const {
  for (const auto* t : layers_) {
    auto it = t->find(key);
    if (it != t->end()) return {&it->first, &it->second};
  }
  return {nullptr, nullptr};
}

const toml::node* TableReader::node(std::string_view key) {
  asked_.insert(std::string(key));
  return find(key);
}

Position TableReader::pos_of(const toml::node& n) const { return to_position(n.source()); }

Position TableReader::value_pos(std::string_view key) const {
  if (const auto* n = find(key)) return pos_of(*n);
  return table_pos();
}

Position TableReader::key_pos(std::string_view key) const {
  auto [k, n] = find_top(key);
  if (k != nullptr && k->source().begin.line != 0) return to_position(k->source());
  return value_pos(key);
}

Position TableReader::table_pos() const {
  for (const auto* t : layers_) {
    if (t->source().begin.line != 0) return to_position(t->source());
  }
  return fallback_;
}

void TableReader::inherit(const TableReader& parent) {
  fallback_ = parent.table_pos();
  expanded_ = parent.expanded_;
}

std::string TableReader::expansion_digest() const {
  std::string out;
  for (size_t h : *expanded_) out += std::to_string(h) + ",";
  return out;
}

const toml::table& empty_table() {
  static const toml::table t;
  return t;
}

void TableReader::error_at(std::string_view key, std::string message) {
  diags_->add(value_pos(key), std::move(message));
}
void TableReader::error_at_key(std::string_view key, std::string message) {
  diags_->add(key_pos(key), std::move(message));
}
void TableReader::error_at(const toml::node& n, std::string message) {
  diags_->add(pos_of(n), std::move(message));
}
void TableReader::error_here(std::string message) { diags_->add(table_pos(), std::move(message)); }

std::optional<std::string> TableReader::expand(const toml::node& n, std::string_view raw) {
  ExpandOptions opts{base_dir_, allow_vars_};
  auto v = expand_refs(raw, opts);
  if (!v) {
    error_at(n, v.error());
    return std::nullopt;
  }
  if (*v != raw) expanded_->push_back(std::hash<std::string>{}(*v));
  return std::move(v).value();
}

std::optional<std::string> TableReader::string(std::string_view key) {
  const auto* n = node(key);
  if (n == nullptr) return std::nullopt;
  if (!n->is_string()) {
    error_at(*n, "'" + std::string(key) + "' must be a string, not " + toml_type_name(*n));
    return std::nullopt;
  }
  return expand(*n, n->as_string()->get());
}

std::optional<std::string> TableReader::secret_file(std::string_view key) {
  auto path = string(key);
  if (!path) return std::nullopt;
  auto content = read_secret_file(*path, base_dir_);
  if (!content) {
    error_at(key, std::string(key) + ": " + content.error());
    return std::nullopt;
  }
  expanded_->push_back(std::hash<std::string>{}(*content));
  return std::move(content).value();
}

std::optional<int64_t> TableReader::integer(std::string_view key, int64_t min, int64_t max) {
  const auto* n = node(key);
  if (n == nullptr) return std::nullopt;
  if (!n->is_integer()) {
    error_at(*n, "'" + std::string(key) + "' must be an integer, not " + toml_type_name(*n));
    return std::nullopt;
  }
  int64_t v = n->as_integer()->get();
  if (v < min || v > max) {
    error_at(*n, "'" + std::string(key) + "' must be between " + std::to_string(min) + " and " +
                     std::to_string(max) + ", not " + std::to_string(v));
    return std::nullopt;
  }
  return v;
}

std::optional<bool> TableReader::boolean(std::string_view key) {
  const auto* n = node(key);
  if (n == nullptr) return std::nullopt;
  if (!n->is_boolean()) {
    error_at(*n, "'" + std::string(key) + "' must be true or false, not " + toml_type_name(*n));
    return std::nullopt;
  }
  return n->as_boolean()->get();
}

std::optional<base::Duration> TableReader::duration(std::string_view key) {
  const auto* n = node(key);
  if (n == nullptr) return std::nullopt;
  if (!n->is_string()) {
    error_at(*n, "'" + std::string(key) + "' must be a duration string such as \"30s\", not " +
                     toml_type_name(*n));
    return std::nullopt;
  }
  auto d = parse_duration(n->as_string()->get());
  if (!d) {
    error_at(*n, "'" + std::string(key) + "': " + d.error());
    return std::nullopt;
  }
  return *d;
}

std::optional<std::vector<std::string>> TableReader::strings(std::string_view key) {
  const auto* n = node(key);
  if (n == nullptr) return std::nullopt;
  const auto* arr = n->as_array();
  if (arr == nullptr) {
    error_at(*n, "'" + std::string(key) + "' must be an array of strings, not " +
                     toml_type_name(*n));
    return std::nullopt;
  }
  std::vector<std::string> out;
  bool ok = true;
  for (const auto& el : *arr) {
    if (!el.is_string()) {
      error_at(el, "'" + std::string(key) + "' entries must be strings, not " +
                       toml_type_name(el));
      ok = false;
      continue;
    }
    auto v = expand(el, el.as_string()->get());
    if (!v) {
      ok = false;
      continue;
    }
    out.push_back(std::move(*v));
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<StringMap> TableReader::string_map(std::string_view key) {
  asked_.insert(std::string(key));
  std::map<std::string, std::string> merged;
  bool any = false;
  bool ok = true;
  // Lowest layer first, so higher layers overwrite.
  for (auto it = layers_.rbegin(); it != layers_.rend(); ++it) {
    const auto* n = (*it)->get(key);
    if (n == nullptr) continue;
    any = true;
    const auto* t = n->as_table();
    if (t == nullptr) {
      error_at(*n, "'" + std::string(key) + "' must be a table of strings such as { a = \"b\" }, "
                                            "not " + toml_type_name(*n));
      ok = false;
      continue;
    }
    for (const auto& [k, v] : *t) {
      if (!v.is_string()) {
        error_at(v, "'" + std::string(key) + "." + std::string(k.str()) +
                        "' must be a string, not " + toml_type_name(v));
        ok = false;
        continue;
      }
      auto val = expand(v, v.as_string()->get());
      if (!val) {
        ok = false;
        continue;
      }
      merged[std::string(k.str())] = std::move(*val);
    }
  }
  if (!any || !ok) return std::nullopt;
  return StringMap(merged.begin(), merged.end());
}

std::optional<TableReader> TableReader::table(std::string_view key) {
  asked_.insert(std::string(key));
  std::vector<const toml::table*> sub;
  for (const auto* t : layers_) {
    const auto* n = t->get(key);
    if (n == nullptr) continue;
    if (const auto* tt = n->as_table()) {
      sub.push_back(tt);
    } else {
      error_at(*n, "'" + std::string(key) + "' must be a table, not " + toml_type_name(*n));
      return std::nullopt;
    }
  }
  if (sub.empty()) return std::nullopt;
  // Unknown keys are only reported for the top layer's own table: when the top layer lacks it,
  // the defaults' sub-table is validated where [defaults] is read.
  if (layers_.empty() || layers_.front()->get(key) == nullptr) sub.insert(sub.begin(), &empty_table());
  TableReader child(sub, where_ + "." + std::string(key), *diags_, base_dir_, allow_vars_);
  child.inherit(*this);
  return child;
}

std::vector<TableReader> TableReader::table_array(std::string_view key) {
  asked_.insert(std::string(key));
  std::vector<TableReader> out;
  const toml::node* n = find(key);  // the highest layer that has it, as a whole
  if (n == nullptr) return out;
  const auto* arr = n->as_array();
  if (arr == nullptr || !arr->is_array_of_tables()) {
    error_at(*n, "'" + std::string(key) + "' must be an array of tables ([[" + std::string(key) +
                     "]])");
    return out;
  }
  for (const auto& el : *arr) {
    out.emplace_back(std::vector<const toml::table*>{el.as_table()}, where_ + "." + std::string(key),
                     *diags_, base_dir_, allow_vars_);
    out.back().inherit(*this);
  }
  return out;
}

void TableReader::finish() {
  if (layers_.empty()) return;
  for (const auto& [k, v] : *layers_.front()) {
    if (asked_.count(k.str()) != 0) continue;
    std::string msg = "unknown key '" + std::string(k.str()) + "' in " + where_;
    std::string best;
    size_t best_d = 3;
    for (const auto& a : asked_) {
      size_t d = edit_distance(k.str(), a);
      if (d < best_d) {
        best_d = d;
        best = a;
      }
    }
    if (!best.empty()) msg += " (did you mean '" + best + "'?)";
    Position p = k.source().begin.line != 0 ? to_position(k.source()) : pos_of(v);
    diags_->add(p, msg);
  }
}

}  // namespace probed::config
