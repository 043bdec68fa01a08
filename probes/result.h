// Result: what one run of one probe found. A target's failure is data, not an error: it is a
// Result with a FailureReason and a one-line message. Plain value type; built on the loop
// thread, then read by the sinks (metrics, alerts, status) and by `probed probe`.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "daemon/base/clock.h"

namespace probed::probes {

using base::Duration;
using config::Labels;

enum class FailureReason {
  None, Timeout, Dns, Connect, Tls, CertExpired, Status, Body, Json,
  Header, Latency, Answer, Rcode, Expect, Extract, Error
};

// The SPEC §3 label text ("timeout", "cert_expired", ...).
std::string_view to_label(FailureReason r);
// Every reason but None, in SPEC order: the exporter pre-creates each at 0.
const std::vector<FailureReason>& all_failure_reasons();

struct PhaseTime {
  std::string_view phase;  // resolve, connect, tls, processing, transfer
  Duration duration{};
};

enum class CertStatus { Ok, Warning, Critical, Expired, Error };
std::string_view to_string(CertStatus s);  // "OK", "WARNING", ...

// One X.509 certificate as seen by a probe (leaf first in a chain).
struct CertInfo {
  std::string subject;        // RFC 2253
  std::string issuer;         // RFC 2253
  std::string sans;           // DNS and IP names, comma separated
  std::string serial;         // lower-case hex, as blackbox prints it
  std::string fingerprint_sha256;  // lower-case hex
  int64_t not_before = 0;     // unix seconds
  int64_t not_after = 0;      // unix seconds
  std::string source;         // the file, for cert_file
};

// Days left (may be negative) and status against the thresholds.
double days_left(const CertInfo& c, double now_unix);
CertStatus cert_status(const CertInfo& c, double now_unix, Duration warning, Duration critical);

// A type-specific gauge: probe_http_status_code, probe_dns_answer_rrs, ...
struct Sample {
  std::string_view name;  // from probes/metric_names.h
  Labels labels;          // extra labels beyond the series labels (phase, step, version)
  double value = 0;
};

struct TraceLine {
  Duration at{};  // since the run started
  std::string text;
};

struct Result {
  bool success = false;
  FailureReason reason = FailureReason::None;
  std::string message;  // one line for logs, alerts, status page; never a secret
  Duration duration{};
  std::vector<PhaseTime> phases;
  std::vector<CertInfo> chain;  // leaf first; empty when no TLS was seen
  std::vector<Sample> samples;
  std::vector<TraceLine> trace;  // only when the run was traced

  static Result ok() {
    Result r;
    r.success = true;
    return r;
  }
  static Result fail(FailureReason reason, std::string message) {
    Result r;
    r.reason = reason;
    r.message = std::move(message);
    return r;
  }
  // Marks the result failed unless it already failed (the first failure wins).
  void fail_with(FailureReason reason, std::string msg);
  void add_phase(std::string_view phase, Duration d);
  void add_sample(std::string_view name, double value, Labels labels = {});
};

}  // namespace probed::probes
