// The status page at `/`: one self-contained HTML document (inline CSS and SVG, no scripts,
// no external assets) rendered from a snapshot. Every text is redacted and HTML-escaped.
// Pure function; any thread.
#pragma once

#include <string>

#include "exporters/status/status_store.h"

namespace probed::exporters {

std::string status_page_html(const StatusSnapshot& snap);

// HTML-escapes text for element content and attribute values.
std::string html_escape(std::string_view text);

}  // namespace probed::exporters
