// Alert: one alert instance as the engine sees it (SPEC §5) and as receivers render it. A plain
// value type; built on the loop thread, copied into receiver queues and the state file.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "config/config.h"

namespace probed::exporters::alerts {

inline constexpr const char* kProbeFailed = "ProbeFailed";
inline constexpr const char* kCertificateExpiringSoon = "CertificateExpiringSoon";
inline constexpr const char* kProberDegraded = "ProberDegraded";

struct Alert {
  std::string name;           // alertname
  std::string severity;       // critical | warning
  config::Labels labels;      // sorted; includes alertname and severity
  config::Labels annotations; // summary, description, runbook_url when the check sets one
  std::string check;
  std::string target;         // empty for ProberDegraded
  std::string location;
  double starts_at = 0;       // unix seconds; stable for the life of the alert
  double ends_at = 0;         // unix seconds of the resolve; 0 while firing

  bool resolved() const { return ends_at > 0; }
  // Identity: alertname and labels. Two notifications with the same id are about one alert.
  std::string id() const;
  std::string label(std::string_view name) const;
  std::string annotation(std::string_view name) const;
};

// RFC 3339 in UTC with milliseconds ("2026-11-23T14:03:07.250Z"), as Alertmanager prints.
// Times outside years 1970-9999 are clamped.
std::string rfc3339(double unix_seconds);

// SHA-256 of `text` in lower-case hex: how the state file names secrets-bearing values (URLs,
// targets) without holding them, and how long PagerDuty keys are shortened.
std::string sha256_hex(std::string_view text);

// JSON text for the wire and the state file. Invalid UTF-8 (a server's bytes quoted in a probe
// message) becomes U+FFFD instead of an exception.
std::string dump_json(const nlohmann::json& j, int indent = -1);

nlohmann::json to_json(const Alert& a);
Alert alert_from_json(const nlohmann::json& j);  // throws nlohmann::json::exception

}  // namespace probed::exporters::alerts
