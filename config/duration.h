// Durations with units, as written in the config file: "500ms", "1m30s", "30d" (SPEC §2).
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "daemon/base/clock.h"
#include "daemon/base/expected.h"

namespace probed::config {

// Accepts one or more <number><unit> parts, units ms, s, m, h, d, each at most once and in
// descending order ("1h30m", not "30m1h"). A number may have a fraction ("1.5s").
base::Expected<base::Duration> parse_duration(std::string_view text);

// The shortest exact spelling: 90s -> "1m30s", 1.5s -> "1s500ms", 0 -> "0s".
std::string format_duration(base::Duration d);

}  // namespace probed::config
