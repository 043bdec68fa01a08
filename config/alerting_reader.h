// Reads [[receivers]] and [alerting] (SPEC §2) into AlertingConfig/ReceiverConfig, recording
// every error with its position. Used only by the loader; not thread-safe (like TableReader).
#pragma once

#include <vector>

#include "config/config.h"
#include "config/reader.h"

namespace probed::config {

// Every [[receivers]] entry of `top`; names are unique, urls valid, secret files read.
std::vector<ReceiverConfig> read_receivers(TableReader& top);

// [alerting], validated against the checks already read (the canary must name one).
AlertingConfig read_alerting(TableReader& top, const std::vector<CheckConfig>& checks);

}  // namespace probed::config
