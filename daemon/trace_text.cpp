#include "daemon/trace_text.h"

#include <cstdio>
#include <sstream>

#include "daemon/base/redact.h"
#include "probes/tls_inspect.h"

namespace probed::daemon {
namespace {

std::string ms(base::Duration d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%8.1f ms", base::to_seconds(d) * 1000);
  return buf;
}

}  // namespace

std::string trace_text(const config::CheckConfig& check, const config::Target& target,
                       const probes::Result& r) {
  std::ostringstream out;
  out << "check " << check.name << " (" << check.type << ") target " << target.address << "\n";
  for (const auto& line : r.trace) out << ms(line.at) << "  " << line.text << "\n";
  if (!r.phases.empty()) {
    out << "phases:";
    for (const auto& p : r.phases) out << " " << p.phase << "=" << ms(p.duration).substr(2);
    out << "\n";
  }
  if (!r.chain.empty()) {
    out << "certificate chain (leaf first):\n";
    double now = base::unix_now();
    for (size_t i = 0; i < r.chain.size(); ++i) {
      const auto& c = r.chain[i];
      char days[32];
      std::snprintf(days, sizeof days, "%.1f", probes::days_left(c, now));
      out << "  " << i << ": subject=" << c.subject << "\n"
          << "     issuer=" << c.issuer << "\n"
          << "     not_after=" << probes::format_date(c.not_after) << " (" << days
          << " days left)";
      if (!c.sans.empty()) out << " names=" << c.sans;
      out << "\n";
    }
  }
  out << "verdict: " << (r.success ? "SUCCESS" : "FAILURE");
  if (!r.success) out << " reason=" << probes::to_label(r.reason);
  if (!r.message.empty()) out << " (" << r.message << ")";
  out << " in " << ms(r.duration).substr(2) << "\n";
  return base::redact(out.str());
}

}  // namespace probed::daemon
