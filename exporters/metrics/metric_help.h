// The HELP text of every gauge a probe reports as a Sample (and of the derived ssl gauges).
// Used by the registry exporter and by the single-run /probe renderer alike.
#pragma once

#include <string_view>

#include "probes/metric_names.h"

namespace probed::exporters {

inline std::string_view gauge_help(std::string_view name) {
  using namespace probed::names;
  struct Row { std::string_view name, help; };
  static constexpr Row kRows[] = {
      {kProbeSuccess, "Whether the last run succeeded (1) or failed (0)"},
      {kProbeDuration, "How long the last run took, in seconds"},
      {kProbeLastRun, "When the last run finished, as a unix timestamp"},
      {kDnsLookupTime, "Time spent resolving names in the last run, in seconds"},
      {kHttpStatusCode, "HTTP status code of the last response"},
      {kHttpContentLength, "Content-Length of the last response (-1 when unknown)"},
      {kHttpRedirects, "Number of redirects followed in the last run"},
      {kHttpSsl, "Whether the final response came over TLS"},
      {kHttpVersion, "HTTP version of the last response"},
      {kHttpDuration, "Duration of each phase of the last run (summed over redirects), in seconds"},
      {kPhaseDuration, "Duration of each phase (resolve, connect, tls) of the last run, in seconds"},
      {kSslEarliestExpiry, "Earliest not-after of the served certificate chain, unix time"},
      {kSslLastChainExpiry, "Earliest not-after of the last chain seen, unix time"},
      {kSslLastChainInfo, "Leaf certificate of the last chain seen"},
      {kTlsVersionInfo, "TLS version of the last connection"},
      {kCertFileNotAfter, "Not-after of each certificate in a file, unix time"},
      {kDnsAnswerRrs, "Records in the answer section"},
      {kDnsAuthorityRrs, "Records in the authority section"},
      {kDnsAdditionalRrs, "Records in the additional section"},
      {kDnsRcode, "Response code of the last DNS answer"},
      {kDnsSerial, "Serial of the zone from the SOA answer of the last DNS query"},
      {kJourneyStepSuccess, "Whether each journey step succeeded in the last run"},
      {kJourneyStepDuration, "Duration of each journey step in the last run, in seconds"},
  };
  for (const auto& r : kRows) {
    if (r.name == name) return r.help;
  }
  return "probed gauge";
}

}  // namespace probed::exporters
