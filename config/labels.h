// Label-name rules shared by check labels and targets_file labels: valid Prometheus names,
// not starting with "__", and not one of the labels probed sets itself.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace probed::config {

// Check and receiver names: [a-zA-Z0-9_.-]+ (SPEC §2).
bool valid_name(std::string_view name);

// nullopt when `name` may be used as a user label; else why not.
std::optional<std::string> label_name_problem(std::string_view name);

}  // namespace probed::config
