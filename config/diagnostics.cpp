#include "config/diagnostics.h"

#include <algorithm>
#include <tuple>

namespace probed::config {

std::string to_string(const Diagnostic& d) {
  return d.pos.file + ":" + std::to_string(d.pos.line) + ":" + std::to_string(d.pos.col) + ": " +
         d.message;
}

void Diagnostics::add(Position pos, std::string message) {
  for (const auto& d : items_) {
    if (d.pos.file == pos.file && d.pos.line == pos.line && d.pos.col == pos.col &&
        d.message == message) {
      return;
    }
  }
  items_.push_back({std::move(pos), std::move(message)});
}

std::vector<Diagnostic> Diagnostics::sorted() const {
  auto out = items_;
  std::stable_sort(out.begin(), out.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return std::tie(a.pos.file, a.pos.line, a.pos.col) < std::tie(b.pos.file, b.pos.line, b.pos.col);
  });
  return out;
}

void Diagnostics::print(std::ostream& out) const {
  for (const auto& d : sorted()) out << to_string(d) << '\n';
}

}  // namespace probed::config
