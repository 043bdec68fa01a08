// Helpers for config tests (toml++'s should_fail style): load TOML text as "t.toml" and
// assert an error at an exact line and column.
#pragma once

#include <catch2/catch.hpp>

#include <sstream>
#include <string>

#include "config/loader.h"
#include "probes/probe.h"

namespace probed::test {

inline config::LoadResult load(const std::string& text) {
  return config::load_config_text(text, "t.toml", "/tmp", probes::config_probe_types());
}

inline std::string all(const config::LoadResult& r) {
  std::ostringstream ss;
  r.diags.print(ss);
  return ss.str();
}

// Asserts that `text` fails with an error at line:col whose message contains `what`.
inline void config_should_fail(const std::string& text, uint32_t line, uint32_t col, const std::string& what) {
  auto r = load(text);
  INFO("config:\n" << text << "\nerrors:\n" << all(r));
  REQUIRE_FALSE(r.ok());
  bool found = false;
  for (const auto& d : r.diags.sorted()) {
    if (d.pos.line == line && d.pos.col == col && d.message.find(what) != std::string::npos) {
      found = true;
    }
  }
  CHECK(found);
}

}  // namespace probed::test
