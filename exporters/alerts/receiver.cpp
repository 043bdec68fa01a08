#include "exporters/alerts/receiver.h"

#include <cmath>

#include "exporters/alerts/receivers.h"

namespace probed::exporters::alerts {

std::vector<std::string> Receiver::headers() const {
  std::vector<std::string> out = {"Content-Type: application/json"};
  for (const auto& [k, v] : cfg_.headers) out.push_back(k + ": " + v);
  return out;
}

std::unique_ptr<Receiver> make_receiver(const config::ReceiverConfig& cfg) {
  if (cfg.type == "alertmanager") return std::make_unique<AlertmanagerReceiver>(cfg);
  if (cfg.type == "webhook") return std::make_unique<WebhookReceiver>(cfg);
  if (cfg.type == "slack") return std::make_unique<SlackReceiver>(cfg);
  if (cfg.type == "pagerduty") return std::make_unique<PagerdutyReceiver>(cfg);
  return nullptr;  // the loader accepts only the four types above
}

std::string generator_url(const Alert& a, const RenderContext& ctx) {
  // Check names are [A-Za-z0-9_.-], safe in a fragment; the status page anchors each check.
  return a.check.empty() ? ctx.generator_url : ctx.generator_url + "#check-" + a.check;
}

std::string short_duration(double seconds) {
  auto s = static_cast<int64_t>(std::llround(std::max(0.0, seconds)));
  std::string out;
  if (s >= 86400) out += std::to_string(s / 86400) + "d";
  if (s >= 3600) out += std::to_string(s / 3600 % 24) + "h";
  if (s >= 60) out += std::to_string(s / 60 % 60) + "m";
  out += std::to_string(s % 60) + "s";
  return out;
}

}  // namespace probed::exporters::alerts
