// The validated configuration as plain structs (no toml types leak out). Built by
// load_config(); immutable once built and shared read-only (shared_ptr<const Config>) by the
// loop thread and the HTTP threads.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/alerting.h"
#include "config/diagnostics.h"
#include "daemon/base/clock.h"
#include "daemon/base/regex.h"

namespace probed::config {

using Labels = std::vector<std::pair<std::string, std::string>>;  // sorted by name

// Type-specific settings, compiled at load time (regexes, JSON pointers, status ranges), so a
// run never parses config text. Each probe type derives its own.
struct ProbeSpec {
  virtual ~ProbeSpec() = default;

  struct CertThresholds {
    base::Duration warning;
    base::Duration critical;
  };
  // For types that see certificates: the thresholds, when `target` is expected to present
  // some (an https URL, a tcp check with tls). `probed certs` and certificate alerts use it.
  virtual std::optional<CertThresholds> cert_thresholds(std::string_view /*target*/) const {
    return std::nullopt;
  }
};

// One probed address with the labels a targets_file gave it (none for inline targets).
struct Target {
  std::string address;
  Labels labels;
  bool operator==(const Target&) const = default;
};

struct DaemonConfig {
  std::string listen = "127.0.0.1:9465";
  std::string location;
  std::string state_dir = "/var/lib/probed";
  int64_t max_inflight = 2048;
  uint32_t shard_index = 0;
  uint32_t shard_count = 1;
  base::Duration targets_file_reload = std::chrono::seconds(30);
};

// [probe_endpoint]: the blackbox-compatible GET /probe (SPEC §4). Off unless enabled; a target
// must match one of allowed_targets, so the endpoint never becomes an open proxy.
struct ProbeEndpointConfig {
  bool enabled = false;
  // Searched, not fully matched (PCRE2 semantics): anchor with ^ and $ as the examples do.
  std::vector<base::Regex> allowed_targets;

  bool allows(std::string_view target) const {
    for (const auto& re : allowed_targets) {
      if (re.search(target)) return true;
    }
    return false;
  }
};

struct CheckConfig {
  std::string name;
  std::string type;
  std::vector<Target> targets;  // inline targets, or targets_file's content at load time
  std::string targets_file;  // absolute or relative to the config file; empty when unused
  bool template_only = false;  // targets = []: serves only /probe
  base::Duration interval = std::chrono::seconds(30);
  base::Duration timeout = std::chrono::seconds(10);
  Labels labels;
  std::vector<std::string> alert_receivers;
  std::string runbook_url;
  std::shared_ptr<const ProbeSpec> spec;
  // The check's settings as TOML text: equal fingerprints mean an unchanged check on reload.
  std::string fingerprint;
  Position pos;
};

struct Config {
  std::string path;  // "<default>" for the embedded default config
  DaemonConfig daemon;
  ProbeEndpointConfig probe_endpoint;
  std::vector<CheckConfig> checks;
  std::vector<ReceiverConfig> receivers;
  AlertingConfig alerting;

  const CheckConfig* find_check(std::string_view name) const {
    for (const auto& c : checks) {
      if (c.name == name) return &c;
    }
    return nullptr;
  }
  const ReceiverConfig* find_receiver(std::string_view name) const {
    for (const auto& r : receivers) {
      if (r.name == name) return &r;
    }
    return nullptr;
  }
};

}  // namespace probed::config
