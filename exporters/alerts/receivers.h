// The four receiver types of SPEC §5. Each only renders; see receiver.h.
#pragma once

#include "exporters/alerts/receiver.h"

namespace probed::exporters::alerts {

// Alertmanager API v2: POST <url>/api/v2/alerts with a list of alerts. startsAt is stable;
// endsAt lies 4 resend intervals ahead while firing (a dead prober's alerts expire by
// themselves, as Prometheus does), and is the resolve time once resolved.
class AlertmanagerReceiver : public Receiver {
 public:
  using Receiver::Receiver;
  size_t batch_size() const override { return 64; }
  bool state_based() const override { return true; }
  std::string endpoint(const std::string& url) const override;
  std::string render(std::span<const Alert> alerts, const RenderContext& ctx) const override;
};

// A generic JSON object per transition; schema in docs/alerts.md.
class WebhookReceiver : public Receiver {
 public:
  using Receiver::Receiver;
  std::string render(std::span<const Alert> alerts, const RenderContext& ctx) const override;
};

// Slack incoming webhook: {"text": one readable line}.
class SlackReceiver : public Receiver {
 public:
  using Receiver::Receiver;
  std::string render(std::span<const Alert> alerts, const RenderContext& ctx) const override;
};

// PagerDuty Events API v2: trigger / resolve with a stable dedup_key per alert, check and target.
class PagerdutyReceiver : public Receiver {
 public:
  using Receiver::Receiver;
  std::string render(std::span<const Alert> alerts, const RenderContext& ctx) const override;
};

// "probed/<location>/<alertname>/<check>/<target>" (location left out when unset); a SHA-256
// in hex when that would pass PagerDuty's 255-character limit.
std::string pagerduty_dedup_key(const Alert& a);

}  // namespace probed::exporters::alerts
