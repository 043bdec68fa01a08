// Config errors with their position: FILE:LINE:COL: message (SPEC §1 check-config).
// Diagnostics collects all of them, drops exact duplicates (a [defaults] value read by many
// checks), and sorts them by position. Not thread-safe; owned by one load_config() call.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace probed::config {

struct Position {
  std::string file;
  uint32_t line = 0;
  uint32_t col = 0;
};

struct Diagnostic {
  Position pos;
  std::string message;
};

std::string to_string(const Diagnostic& d);  // "file:3:7: message"

class Diagnostics {
 public:
  void add(Position pos, std::string message);
  bool empty() const { return items_.empty(); }
  size_t size() const { return items_.size(); }
  // Sorted by file, line, column.
  std::vector<Diagnostic> sorted() const;
  void print(std::ostream& out) const;

 private:
  std::vector<Diagnostic> items_;
};

}  // namespace probed::config
