// /api/v1/checks and /api/v1/certs: the status snapshot as JSON (schema in docs/api.md).
// Pure functions of a snapshot; any thread.
#pragma once

#include <string>

#include "exporters/status/status_store.h"

namespace probed::exporters {

std::string checks_json(const StatusSnapshot& snap);
std::string certs_json(const StatusSnapshot& snap);

}  // namespace probed::exporters
