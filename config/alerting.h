// Alerting settings of SPEC §2: the [[receivers]] list and the [alerting] table, as plain
// validated structs built by load_config(). Immutable once built; read by the alert engine and
// the notifier on the loop thread.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "daemon/base/clock.h"

namespace probed::config {

struct ReceiverConfig {
  std::string name;
  std::string type;               // alertmanager | webhook | slack | pagerduty
  std::vector<std::string> urls;  // several only for an Alertmanager cluster; may be secret
  std::vector<std::pair<std::string, std::string>> headers;  // sent with every request
  std::string routing_key;        // pagerduty; a secret
  base::Duration timeout = std::chrono::seconds(10);  // per delivery attempt, resolve included
  int64_t max_queue = 1000;       // pending notifications per URL; the oldest is dropped
  bool send_resolved = true;      // [alerting] send_resolved unless the receiver sets it
};

struct AlertingConfig {
  int64_t failure_threshold = 3;  // consecutive failures before ProbeFailed fires
  int64_t success_threshold = 2;  // consecutive successes before it resolves
  base::Duration resend_interval = std::chrono::minutes(1);
  bool send_resolved = true;
  std::string canary;             // check name; empty: no canary
  std::string external_url;       // generatorURL base; empty: http://<daemon.listen>/
};

}  // namespace probed::config
