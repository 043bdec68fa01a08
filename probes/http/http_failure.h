// How a finished HTTP transfer failed, as a reason and a one-line message; and the masking of
// extracted values in trace text. Pure functions, any thread.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "probes/http/http_transfer.h"
#include "probes/result.h"

namespace probed::probes {

// The reason and message for a transfer that did not complete (o.code != CURLE_OK), from the
// TLS verification error, the libcurl code, or where it broke. url is the request's URL.
std::pair<FailureReason, std::string> classify_failure(const HopOutcome& o, bool insecure,
                                                      const std::string& url);

// Replaces every occurrence of each hide[i].first (values shorter than 8 characters are left
// alone: masking "42" would garble every number) with hide[i].second.
std::string hide_values(std::string text,
                        const std::vector<std::pair<std::string, std::string>>& hide);

}  // namespace probed::probes
