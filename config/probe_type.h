// What config/ needs to know about a probe type: its name, how to read its [checks.<type>]
// table, and how to validate one target. The list itself lives in probes/registry.cpp and is
// passed to load_config(), so config/ never includes probes/.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "config/reader.h"

namespace probed::config {

struct ProbeTypeInfo {
  std::string_view name;
  // Reads the (possibly empty) [checks.<type>] table; returns nullptr after recording errors.
  // nullptr here means the type is planned but not built yet.
  std::shared_ptr<const ProbeSpec> (*parse)(TableReader& table) = nullptr;
  // Returns an error message for a target this type cannot probe ("invalid URL ...").
  std::optional<std::string> (*check_target)(std::string_view target) = nullptr;
  // A check of this type may omit 'targets': it then runs once, with the check name as its
  // target (journeys, whose steps carry their own URLs).
  bool targets_optional = false;
};

using ProbeTypes = std::vector<ProbeTypeInfo>;

}  // namespace probed::config
