// TableReader: typed, position-aware access to one TOML table, optionally layered over a
// defaults table ([defaults] under a [[checks]] entry: the check's own value wins). Every key
// asked for is remembered, so finish() can report the keys nobody asked for as unknown, with a
// did-you-mean. Errors go to Diagnostics at the value's (or key's) position. Not thread-safe;
// used only while loading a config.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "config/diagnostics.h"
#include "daemon/base/clock.h"

namespace probed::config {

using StringMap = std::vector<std::pair<std::string, std::string>>;  // sorted by key

class TableReader {
 public:
  // layers: highest priority first; only layers[0] is checked for unknown keys.
  TableReader(std::vector<const toml::table*> layers, std::string where, Diagnostics& diags,
              std::string base_dir, bool allow_vars = false);

  const std::string& where() const { return where_; }
  void set_where(std::string where) { where_ = std::move(where); }
  // The top layer's own table (empty_table() when there is none).
  const toml::table* raw_top() const;
  const std::string& base_dir() const { return base_dir_; }
  bool allow_vars() const { return allow_vars_; }
  bool has(std::string_view key) const;

  // Typed getters: nullopt when absent or wrong (the error is recorded). Strings expand
  // ${env:} and ${file:} references.
  std::optional<std::string> string(std::string_view key);
  std::optional<int64_t> integer(std::string_view key, int64_t min, int64_t max);
  std::optional<bool> boolean(std::string_view key);
  std::optional<base::Duration> duration(std::string_view key);
  std::optional<std::vector<std::string>> strings(std::string_view key);
  // The content of the secret file a string key names (relative to the config's folder);
  // nullopt when absent or unreadable (the error is at the key). Counts in the digest below.
  std::optional<std::string> secret_file(std::string_view key);
  // An inline table of strings; layered tables merge key by key (labels, headers).
  std::optional<StringMap> string_map(std::string_view key);
  // A sub-table, layered over the same sub-table of lower layers.
  std::optional<TableReader> table(std::string_view key);
  // An array of tables ([[checks]]); entries of the top layer only.
  std::vector<TableReader> table_array(std::string_view key);
  // Raw node (marks the key as known): for mixed-type values such as valid_status.
  const toml::node* node(std::string_view key);

  Position value_pos(std::string_view key) const;
  Position key_pos(std::string_view key) const;
  Position pos_of(const toml::node& n) const;
  // The table's own position; for a table that is not in the file (an absent [checks.http]),
  // the fallback: its parent's position, so every diagnostic still names FILE:LINE:COL.
  Position table_pos() const;
  void set_fallback_pos(Position p) { fallback_ = std::move(p); }
  // Reads as part of `parent`: the parent's position is the fallback, and the values this
  // reader expands count in the parent's expansion digest.
  void inherit(const TableReader& parent);
  // A digest of every value a ${file:}/${env:} reference changed and every secret_file() read,
  // in the order read:
  // part of a check's fingerprint, so a reload sees a rotated secret file. (A hash, so the
  // fingerprint holds no secret.)
  std::string expansion_digest() const;

  void error_at(std::string_view key, std::string message);      // at the value
  void error_at_key(std::string_view key, std::string message);  // at the key
  void error_at(const toml::node& n, std::string message);
  void error_here(std::string message);                          // at the table

  // Marks a key as known without reading it (read elsewhere).
  void mark(std::string_view key) { asked_.insert(std::string(key)); }
  // Reports every key of the top layer that was never asked for.
  void finish();

  Diagnostics& diags() { return *diags_; }

 private:
  const toml::node* find(std::string_view key) const;
  std::pair<const toml::key*, const toml::node*> find_top(std::string_view key) const;
  std::optional<std::string> expand(const toml::node& n, std::string_view raw);

  std::vector<const toml::table*> layers_;
  Position fallback_;
  std::shared_ptr<std::vector<size_t>> expanded_ = std::make_shared<std::vector<size_t>>();
  std::string where_;
  Diagnostics* diags_;
  std::string base_dir_;
  bool allow_vars_;
  std::set<std::string, std::less<>> asked_;
};

// An empty table, used as the top layer of a sub-table that only [defaults] has.
const toml::table& empty_table();

std::string toml_type_name(const toml::node& n);

}  // namespace probed::config
