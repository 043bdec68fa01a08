// The human trace of one run, as `probed probe` prints it (and /probe?debug=true serves it):
// each phase with its time, the trace lines, the certificate chain with days left, and the
// verdict with its reason. Secrets are masked. Pure function; thread-safe.
#pragma once

#include <string>

#include "config/config.h"
#include "probes/result.h"

namespace probed::daemon {

std::string trace_text(const config::CheckConfig& check, const config::Target& target,
                       const probes::Result& result);

}  // namespace probed::daemon
