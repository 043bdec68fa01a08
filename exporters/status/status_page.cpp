#include "exporters/status/status_page.h"

#include <algorithm>
#include <cstdio>
#include <set>
#include <sstream>

#include "daemon/base/redact.h"
#include "probes/tls_inspect.h"

namespace probed::exporters {
namespace {

// Inline so the page works air-gapped and under a strict CSP; wide tables scroll sideways on
// a phone instead of squeezing every column.
constexpr const char* kStyle = R"(
body{font-family:system-ui,-apple-system,sans-serif;margin:0;padding:1rem;color:#1b1f24;background:#f6f8fa}
h1{font-size:1.3rem;margin:0 0 .3rem}h2{font-size:1.1rem;margin:1.5rem 0 .5rem}
.meta{color:#57606a;font-size:.85rem;margin-bottom:1rem}
.wrap{overflow-x:auto;background:#fff;border:1px solid #d0d7de;border-radius:6px}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{text-align:left;padding:.4rem .6rem;border-bottom:1px solid #eaeef2;vertical-align:top}
th{background:#f6f8fa;font-weight:600;white-space:nowrap}
td.num{text-align:right;white-space:nowrap}
.badge{display:inline-block;padding:.1rem .45rem;border-radius:1rem;font-size:.75rem;font-weight:700;color:#fff}
.state-down .badge{background:#cf222e}.state-up .badge{background:#1a7f37}.state-pending .badge{background:#8c959f}
tr.state-down{background:#ffebe9}
.msg{color:#57606a;font-size:.8rem;word-break:break-word}
.alert{color:#9a6700;font-weight:600;font-size:.8rem}
tr.cert-warning{background:#fff8c5}tr.cert-critical{background:#ffebe9}
tr.cert-expired{background:#cf222e;color:#fff}tr.cert-error{background:#eaeef2}
.summary span{margin-right:1rem}
.tgt{word-break:break-all}
@media (max-width:640px){body{padding:.5rem}.hide-sm{display:none}
table,tbody,tr,td{display:block}thead{display:none}tr{padding:.4rem .2rem;border-bottom:1px solid #d0d7de}
td{border:none;padding:.1rem .4rem}td.num{text-align:left}
td[data-label]::before{content:attr(data-label) ": ";color:#57606a;font-size:.8rem}}
)";

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string latency(double s) { return s < 1 ? fmt("%.1f ms", s * 1000) : fmt("%.2f s", s); }

std::string ago(double then, double now) {
  if (then <= 0) return "never";
  double d = std::max(0.0, now - then);
  if (d < 120) return fmt("%.0fs ago", d);
  if (d < 7200) return fmt("%.0fm ago", d / 60);
  return fmt("%.1fh ago", d / 3600);
}

// Bars, oldest left: height by latency relative to the slowest run shown, red for a failure.
std::string sparkline(const RunHistory& h) {
  constexpr int kBar = 3, kGap = 1, kHeight = 20;
  double max = 0;
  for (size_t i = 0; i < h.size(); ++i) max = std::max(max, h.seconds_at(i));
  std::ostringstream out;
  int width = static_cast<int>(RunHistory::kSize) * (kBar + kGap);
  out << "<svg class=\"spark\" width=\"" << width << "\" height=\"" << kHeight << "\" viewBox=\"0 0 "
      << width << " " << kHeight << "\" role=\"img\"><title>last " << h.size() << " runs</title>";
  for (size_t i = 0; i < h.size(); ++i) {
    double frac = max > 0 ? h.seconds_at(i) / max : 0;
    int bar = std::max(2, static_cast<int>(frac * kHeight));
    out << "<rect x=\"" << i * (kBar + kGap) << "\" y=\"" << kHeight - bar << "\" width=\"" << kBar
        << "\" height=\"" << bar << "\" fill=\"" << (h.success_at(i) ? "#2da44e" : "#cf222e")
        << "\"/>";
  }
  out << "</svg>";
  return out.str();
}

std::string text(std::string_view s) { return html_escape(base::redact(s)); }

void checks_table(std::ostringstream& out, const StatusSnapshot& s) {
  out << "<h2>Checks</h2><div class=\"wrap\"><table id=\"checks\"><thead><tr><th>State</th>"
         "<th>Check</th><th>Target</th><th>Last result</th><th>Latency</th>"
         "<th class=\"hide-sm\">Last run</th><th>Recent runs</th></tr></thead><tbody>\n";
  std::set<std::string_view> anchored;
  for (const auto& rp : s.checks) {
    const StatusRow& r = *rp;
    std::string state(to_string(r.state));
    out << "<tr class=\"state-" << state << "\" data-check=\"" << text(r.check) << "\"";
    // Alerts link here (generatorURL ends in #check-<name>): the check's first row.
    if (anchored.insert(r.check).second) out << " id=\"check-" << text(r.check) << "\"";
    out << "><td><span class=\"badge\">"
        << (r.state == CheckState::Down ? "DOWN" : r.state == CheckState::Up ? "UP" : "PENDING")
        << "</span></td><td>" << text(r.check) << " <span class=\"msg\">" << text(r.type)
        << "</span></td><td class=\"tgt\">" << text(r.target) << "</td><td data-label=\"Last result\">";
    if (r.runs == 0) out << "<span class=\"msg\">not run yet</span>";
    else if (r.state == CheckState::Up) out << "success";
    else out << "failed: <b>" << text(r.reason) << "</b>";
    if (!r.message.empty()) out << "<div class=\"msg\">" << text(r.message) << "</div>";
    if (!r.alert.empty()) out << "<div class=\"alert\">alert: " << text(r.alert) << "</div>";
    out << "</td><td class=\"num\" data-label=\"Latency\">" << (r.runs ? latency(r.duration_s) : "-")
        << "</td><td class=\"num hide-sm\">" << ago(r.last_run_unix, s.generated_unix)
        << "</td><td>" << sparkline(r.history) << "</td></tr>\n";
  }
  out << "</tbody></table></div>\n";
}

void certs_table(std::ostringstream& out, const StatusSnapshot& s) {
  out << "<h2>Certificates</h2><div class=\"wrap\"><table id=\"certs\"><thead><tr><th>Status</th>"
         "<th>Days left</th><th>Not after</th><th>Check</th><th>Target</th><th>Subject</th>"
         "<th class=\"hide-sm\">Issuer</th></tr></thead><tbody>\n";
  if (s.certs.empty()) out << "<tr><td colspan=\"7\" class=\"msg\">no certificates seen yet</td></tr>\n";
  for (const auto& c : s.certs) {
    std::string cls = c.status;
    std::transform(cls.begin(), cls.end(), cls.begin(), [](char ch) { return static_cast<char>(std::tolower(ch)); });
    out << "<tr class=\"cert-" << cls << "\"><td><b>" << text(c.status) << "</b></td><td class=\"num\" data-label=\"Days left\">"
        << (c.has_cert ? fmt("%.1f", c.days_left) : "-") << "</td><td class=\"num\" data-label=\"Not after\">"
        << (c.has_cert ? probes::format_date(c.not_after) : "-") << "</td><td data-label=\"Check\">" << text(c.check)
        << "</td><td class=\"tgt\">" << text(c.target) << "</td><td>" << text(c.has_cert ? c.subject : c.message)
        << "</td><td class=\"hide-sm\">" << text(c.has_cert ? c.issuer : "") << "</td></tr>\n";
  }
  out << "</tbody></table></div>\n";
}

}  // namespace

std::string html_escape(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (char c : in) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string status_page_html(const StatusSnapshot& s) {
  std::ostringstream out;
  out << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
         "<meta http-equiv=\"refresh\" content=\"30\"><title>probed"
      << (s.location.empty() ? "" : " " + text(s.location)) << " status</title><style>" << kStyle
      << "</style></head><body>\n<h1>probed" << (s.location.empty() ? "" : " &middot; " + text(s.location))
      << "</h1><div class=\"meta summary\"><span>" << s.down << " down</span><span>" << s.up
      << " up</span><span>" << s.pending << " pending</span><span>" << s.certs.size()
      << " certificates</span></div>\n";
  checks_table(out, s);
  certs_table(out, s);
  out << "<p class=\"meta\">JSON: <a href=\"api/v1/checks\">/api/v1/checks</a> &middot; "
         "<a href=\"api/v1/certs\">/api/v1/certs</a> &middot; <a href=\"metrics\">/metrics</a>"
         " &middot; refreshes every 30 s</p></body></html>\n";
  return out.str();
}

}  // namespace probed::exporters
