// Prometheus file_sd JSON target lists (targets_file = "..."):
//   [{"targets": ["host:port", ...], "labels": {"env": "prod"}}, ...]
// Labels starting with "__" are dropped, as Prometheus drops them after relabeling. Blocking
// file I/O: call it at load time or from the worker thread, never on the event loop.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "daemon/base/expected.h"

namespace probed::config {

base::Expected<std::vector<Target>> parse_targets_json(std::string_view json);
base::Expected<std::vector<Target>> read_targets_file(const std::string& path);

}  // namespace probed::config
