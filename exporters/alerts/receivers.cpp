#include "exporters/alerts/receivers.h"

#include <nlohmann/json.hpp>

namespace probed::exporters::alerts {
namespace {

using nlohmann::json;

json object_of(const config::Labels& l) {
  json j = json::object();
  for (const auto& [k, v] : l) j[k] = v;
  return j;
}

// "ProbeFailed api-health https://x/ at edge-1" or "ProberDegraded gateway at edge-1".
std::string subject(const Alert& a) {
  std::string s = a.name + " " + a.check;
  if (!a.target.empty() && a.target != a.check) s += " " + a.target;
  if (!a.location.empty()) s += " at " + a.location;
  return s;
}

}  // namespace

std::string AlertmanagerReceiver::endpoint(const std::string& url) const {
  std::string base = url;
  static const std::string kPath = "/api/v2/alerts";
  if (base.size() >= kPath.size() && base.compare(base.size() - kPath.size(), kPath.size(), kPath) == 0) {
    return base;
  }
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + kPath;
}

std::string AlertmanagerReceiver::render(std::span<const Alert> alerts,
                                         const RenderContext& ctx) const {
  json list = json::array();
  const double lease = 4 * base::to_seconds(ctx.resend_interval);
  for (const auto& a : alerts) {
    list.push_back({{"labels", object_of(a.labels)},
                    {"annotations", object_of(a.annotations)},
                    {"startsAt", rfc3339(a.starts_at)},
                    {"endsAt", rfc3339(a.resolved() ? a.ends_at : ctx.now + lease)},
                    {"generatorURL", generator_url(a, ctx)}});
  }
  return dump_json(list);
}

std::string WebhookReceiver::render(std::span<const Alert> alerts, const RenderContext& ctx) const {
  const Alert& a = alerts.front();
  json j = {{"version", "1"},
            {"receiver", ctx.receiver},
            {"status", a.resolved() ? "resolved" : "firing"},
            {"alertname", a.name},
            {"severity", a.severity},
            {"check", a.check},
            {"target", a.target},
            {"location", a.location},
            {"labels", object_of(a.labels)},
            {"annotations", object_of(a.annotations)},
            {"startsAt", rfc3339(a.starts_at)},
            {"endsAt", a.resolved() ? json(rfc3339(a.ends_at)) : json(nullptr)},
            {"generatorURL", generator_url(a, ctx)},
            {"fingerprint", sha256_hex(a.id()).substr(0, 16)}};
  return dump_json(j);
}

std::string SlackReceiver::render(std::span<const Alert> alerts, const RenderContext& ctx) const {
  const Alert& a = alerts.front();
  std::string text;
  if (a.resolved()) {
    text = "[RESOLVED] " + subject(a) + ": resolved after " +
           short_duration(a.ends_at - a.starts_at);
  } else {
    text = "[FIRING:" + a.severity + "] " + subject(a) + ": " + a.annotation("description");
    if (auto rb = a.annotation("runbook_url"); !rb.empty()) text += " | runbook: <" + rb + ">";
  }
  text += " | <" + generator_url(a, ctx) + "|status>";
  return dump_json(json{{"text", text}});
}

std::string pagerduty_dedup_key(const Alert& a) {
  std::string key = "probed/";
  if (!a.location.empty()) key += a.location + "/";
  key += a.name + "/" + a.check;
  if (!a.target.empty()) key += "/" + a.target;
  return key.size() <= 255 ? key : "probed/" + sha256_hex(key);
}

std::string PagerdutyReceiver::render(std::span<const Alert> alerts,
                                      const RenderContext& ctx) const {
  const Alert& a = alerts.front();
  json j = {{"routing_key", config().routing_key},
            {"event_action", a.resolved() ? "resolve" : "trigger"},
            {"dedup_key", pagerduty_dedup_key(a)}};
  if (!a.resolved()) {
    json details = object_of(a.labels);
    details["description"] = a.annotation("description");
    j["payload"] = {{"summary", a.annotation("summary")},
                    {"source", a.location.empty() ? "probed" : a.location},
                    {"severity", a.severity},
                    {"timestamp", rfc3339(a.starts_at)},
                    {"component", a.target},
                    {"group", a.check},
                    {"class", a.name},
                    {"custom_details", details}};
    j["client"] = "probed";
    j["client_url"] = generator_url(a, ctx);
    if (auto rb = a.annotation("runbook_url"); !rb.empty()) {
      j["links"] = json::array({{{"href", rb}, {"text", "runbook"}}});
    }
  }
  return dump_json(j);
}

}  // namespace probed::exporters::alerts
