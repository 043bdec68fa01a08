#include "probes/result.h"

#include <cmath>

namespace probed::probes {

std::string_view to_label(FailureReason r) {
  switch (r) {
    case FailureReason::None: return "";
    case FailureReason::Timeout: return "timeout";
    case FailureReason::Dns: return "dns";
    case FailureReason::Connect: return "connect";
    case FailureReason::Tls: return "tls";
    case FailureReason::CertExpired: return "cert_expired";
    case FailureReason::Status: return "status";
    case FailureReason::Body: return "body";
    case FailureReason::Json: return "json";
    case FailureReason::Header: return "header";
    case FailureReason::Latency: return "latency";
    case FailureReason::Answer: return "answer";
    case FailureReason::Rcode: return "rcode";
    case FailureReason::Expect: return "expect";
    case FailureReason::Extract: return "extract";
    case FailureReason::Error: return "error";
  }
  return "error";
}

const std::vector<FailureReason>& all_failure_reasons() {
  static const std::vector<FailureReason> all = {
      FailureReason::Timeout, FailureReason::Dns,     FailureReason::Connect,
      FailureReason::Tls,     FailureReason::CertExpired, FailureReason::Status,
      FailureReason::Body,    FailureReason::Json,    FailureReason::Header,
      FailureReason::Latency, FailureReason::Answer,  FailureReason::Rcode,
      FailureReason::Expect,  FailureReason::Extract, FailureReason::Error};
  return all;
}

std::string_view to_string(CertStatus s) {
  switch (s) {
    case CertStatus::Ok: return "OK";
    case CertStatus::Warning: return "WARNING";
    case CertStatus::Critical: return "CRITICAL";
    case CertStatus::Expired: return "EXPIRED";
    case CertStatus::Error: return "ERROR";
  }
  return "ERROR";
}

double days_left(const CertInfo& c, double now_unix) {
  return (static_cast<double>(c.not_after) - now_unix) / 86400.0;
}

CertStatus cert_status(const CertInfo& c, double now_unix, Duration warning, Duration critical) {
  double left = static_cast<double>(c.not_after) - now_unix;
  if (left <= 0) return CertStatus::Expired;
  if (left < base::to_seconds(critical)) return CertStatus::Critical;
  if (left < base::to_seconds(warning)) return CertStatus::Warning;
  return CertStatus::Ok;
}

void Result::fail_with(FailureReason r, std::string msg) {
  if (!success && reason != FailureReason::None) return;
  success = false;
  reason = r;
  message = std::move(msg);
}

void Result::add_phase(std::string_view phase, Duration d) {
  for (auto& p : phases) {
    if (p.phase == phase) {
      p.duration += d;  // redirects: phases add up over the hops, as in blackbox
      return;
    }
  }
  phases.push_back({phase, d});
}

void Result::add_sample(std::string_view name, double value, Labels labels) {
  samples.push_back({name, std::move(labels), value});
}

}  // namespace probed::probes
