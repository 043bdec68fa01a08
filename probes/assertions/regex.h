// The compiled PCRE2 pattern lives in daemon/base/regex.h (config/ compiles regexes too); the
// probes keep using it under their own namespace.
#pragma once

#include "daemon/base/regex.h"

namespace probed::probes {
using base::Regex;
}  // namespace probed::probes
