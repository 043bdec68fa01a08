// Every metric and label name of SPEC §3, written once. Probes name their samples with these;
// the exporter registers families with them. Names and meanings follow blackbox_exporter where
// it has the metric, so dashboards and alert rules carry over.
#pragma once

#include <string_view>

namespace probed::names {

// Series labels.
inline constexpr std::string_view kCheck = "check";
inline constexpr std::string_view kType = "type";
inline constexpr std::string_view kTarget = "target";
inline constexpr std::string_view kLocation = "location";
inline constexpr std::string_view kReason = "reason";
inline constexpr std::string_view kPhase = "phase";
inline constexpr std::string_view kStep = "step";
inline constexpr std::string_view kVersion = "version";

// Per-check results.
inline constexpr std::string_view kProbeSuccess = "probe_success";
inline constexpr std::string_view kProbeDuration = "probe_duration_seconds";
inline constexpr std::string_view kProbeRuns = "probe_runs_total";
inline constexpr std::string_view kProbeFailures = "probe_failures_total";
inline constexpr std::string_view kProbeLatency = "probe_latency_seconds";
inline constexpr std::string_view kProbeLastRun = "probe_last_run_timestamp_seconds";
inline constexpr std::string_view kDnsLookupTime = "probe_dns_lookup_time_seconds";
// probed's addition: the phases of dns, tcp and tls runs (http keeps blackbox's
// probe_http_duration_seconds).
inline constexpr std::string_view kPhaseDuration = "probe_phase_duration_seconds";

// HTTP.
inline constexpr std::string_view kHttpStatusCode = "probe_http_status_code";
inline constexpr std::string_view kHttpContentLength = "probe_http_content_length";
inline constexpr std::string_view kHttpRedirects = "probe_http_redirects";
inline constexpr std::string_view kHttpSsl = "probe_http_ssl";
inline constexpr std::string_view kHttpVersion = "probe_http_version";
inline constexpr std::string_view kHttpDuration = "probe_http_duration_seconds";

// TLS and certificates.
inline constexpr std::string_view kSslEarliestExpiry = "probe_ssl_earliest_cert_expiry";
inline constexpr std::string_view kSslLastChainExpiry =
    "probe_ssl_last_chain_expiry_timestamp_seconds";
inline constexpr std::string_view kSslLastChainInfo = "probe_ssl_last_chain_info";
inline constexpr std::string_view kTlsVersionInfo = "probe_tls_version_info";
inline constexpr std::string_view kCertFileNotAfter = "probe_cert_file_not_after";

// DNS.
inline constexpr std::string_view kDnsAnswerRrs = "probe_dns_answer_rrs";
inline constexpr std::string_view kDnsAuthorityRrs = "probe_dns_authority_rrs";
inline constexpr std::string_view kDnsAdditionalRrs = "probe_dns_additional_rrs";
inline constexpr std::string_view kDnsRcode = "probe_dns_rcode";
inline constexpr std::string_view kDnsSerial = "probe_dns_serial";  // SOA queries, as blackbox

// Journeys.
inline constexpr std::string_view kJourneyStepSuccess = "probe_journey_step_success";
inline constexpr std::string_view kJourneyStepDuration = "probe_journey_step_duration_seconds";

// The daemon itself.
inline constexpr std::string_view kBuildInfo = "probed_build_info";
inline constexpr std::string_view kChecks = "probed_checks";
inline constexpr std::string_view kInflight = "probed_inflight_probes";
inline constexpr std::string_view kScheduleLag = "probed_schedule_lag_seconds";
inline constexpr std::string_view kRunsSkipped = "probed_runs_skipped_total";
inline constexpr std::string_view kReloadSuccessful = "probed_config_last_reload_successful";
inline constexpr std::string_view kReloadTimestamp =
    "probed_config_last_reload_success_timestamp_seconds";
inline constexpr std::string_view kNotifications = "probed_notifications_total";
inline constexpr std::string_view kNotificationQueue = "probed_notification_queue_length";

}  // namespace probed::names
