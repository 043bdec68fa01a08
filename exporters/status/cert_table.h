// The certificate table of `probed certs`, the status page and /api/v1/certs: one row per
// certificate seen (or one ERROR row when a target that should show certificates showed none),
// with days left and OK/WARNING/CRITICAL/EXPIRED against the check's thresholds, sorted ERROR
// first, then soonest expiry first. Pure functions; thread-safe.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <string>
#include <vector>

#include "config/config.h"
#include "probes/result.h"

namespace probed::exporters {

struct CertRow {
  std::string check, target, subject, issuer, status, message;
  int64_t not_after = 0;
  double days_left = 0;
  bool has_cert = false;
};

// Appends the rows of one (check, target)'s last chain. `error` explains an empty chain.
void append_cert_rows(const std::string& check, const std::string& target,
                      const std::vector<probes::CertInfo>& chain, const std::string& error,
                      const config::ProbeSpec::CertThresholds& thresholds, double now_unix,
                      std::vector<CertRow>& out);
// ERROR rows first, then by days left (soonest first); stable.
void sort_cert_rows(std::vector<CertRow>& rows);
// The JSON array of `probed certs --format json` and /api/v1/certs (docs/api.md). Text fields
// are redacted.
nlohmann::json cert_rows_json(const std::vector<CertRow>& rows);

}  // namespace probed::exporters
