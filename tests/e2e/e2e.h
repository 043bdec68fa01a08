// Shared by the e2e tests: where the probed binary under test is (CTest passes PROBED_BIN).
#pragma once

#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>

namespace probed::testing {

inline std::string probed_bin() {
  const char* p = std::getenv("PROBED_BIN");
  REQUIRE(p != nullptr);
  return p;
}

}  // namespace probed::testing
