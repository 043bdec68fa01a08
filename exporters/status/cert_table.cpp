#include "exporters/status/cert_table.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "daemon/base/redact.h"
#include "probes/tls_inspect.h"

namespace probed::exporters {

void append_cert_rows(const std::string& check, const std::string& target,
                      const std::vector<probes::CertInfo>& chain, const std::string& error,
                      const config::ProbeSpec::CertThresholds& t, double now,
                      std::vector<CertRow>& out) {
  if (chain.empty()) {
    out.push_back({check, target, "-", "-", "ERROR", error.empty() ? "no certificate seen" : error});
    return;
  }
  for (const auto& c : chain) {
    CertRow row{check, target, c.subject, c.issuer, "", "", c.not_after,
                probes::days_left(c, now), true};
    row.status = std::string(probes::to_string(probes::cert_status(c, now, t.warning, t.critical)));
    // cert_file: each certificate names the file it came from.
    if (!c.source.empty() && c.source != target) row.target = c.source;
    out.push_back(std::move(row));
  }
}

void sort_cert_rows(std::vector<CertRow>& rows) {
  std::stable_sort(rows.begin(), rows.end(), [](const CertRow& a, const CertRow& b) {
    if (a.has_cert != b.has_cert) return !a.has_cert;
    return a.days_left < b.days_left;
  });
}

nlohmann::json cert_rows_json(const std::vector<CertRow>& rows) {
  using base::redact;
  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : rows) {
    nlohmann::json j = {{"check", r.check}, {"target", redact(r.target)}, {"status", r.status}};
    if (r.has_cert) {
      j["subject"] = redact(r.subject);
      j["issuer"] = redact(r.issuer);
      j["not_after"] = probes::format_date(r.not_after);
      j["not_after_unix"] = r.not_after;
      j["days_left"] = std::round(r.days_left * 10) / 10;
    } else {
      j["error"] = redact(r.message);
    }
    out.push_back(std::move(j));
  }
  return out;
}

}  // namespace probed::exporters
