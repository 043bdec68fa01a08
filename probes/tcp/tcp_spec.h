// [checks.tcp] and [checks.tls] parsers (SPEC §2). Both produce a ConversationSpec.
#pragma once

#include <memory>

#include "config/config.h"
#include "config/reader.h"

namespace probed::probes {

// [checks.tcp]: send, expect, tls, starttls, and the TLS keys of [checks.tls].
std::shared_ptr<const config::ProbeSpec> parse_tcp(config::TableReader& t);
// [checks.tls]: a TLS handshake (after an optional STARTTLS exchange) and nothing else.
std::shared_ptr<const config::ProbeSpec> parse_tls(config::TableReader& t);

}  // namespace probed::probes
