#include "config/alerting_reader.h"

#include <algorithm>
#include <array>
#include <regex>
#include <set>

#include "config/labels.h"

namespace probed::config {
namespace {

constexpr std::array<std::string_view, 4> kReceiverTypes = {"alertmanager", "webhook", "slack",
                                                            "pagerduty"};
constexpr const char* kPagerdutyUrl = "https://events.pagerduty.com/v2/enqueue";

// http(s)://host[:port][/path]: what libcurl will accept for a POST. The URL itself may be a
// secret (Slack webhook URLs are), so the message never quotes it.
bool valid_url(const std::string& s) {
  static const std::regex re(R"(^https?://[^/?#\s@]+(/[^\s]*)?$)", std::regex::icase);
  return std::regex_match(s, re);
}

std::string type_list() {
  std::string out;
  for (auto t : kReceiverTypes) out += (out.empty() ? "" : ", ") + std::string(t);
  return out;
}

// url | urls | url_file: exactly one; urls only for Alertmanager clusters.
void read_urls(TableReader& r, ReceiverConfig& rc) {
  const int given = int(r.has("url")) + int(r.has("urls")) + int(r.has("url_file"));
  if (given > 1) {
    r.error_here("receiver '" + rc.name + "': set one of 'url', 'urls' and 'url_file'");
  }
  std::string key;
  if (auto v = r.string("url")) {
    rc.urls = {*v};
    key = "url";
  }
  if (auto v = r.strings("urls")) {
    if (rc.type != "alertmanager" && !rc.type.empty()) {
      r.error_at_key("urls", "'urls' is for an Alertmanager cluster; a " + rc.type +
                                 " receiver has one 'url'");
    } else if (v->empty()) {
      r.error_at("urls", "'urls' must list at least one URL");
    }
    rc.urls = *v;
    key = "urls";
  }
  if (r.has("url_file")) {
    if (auto content = r.secret_file("url_file")) rc.urls = {*content};
    key = "url_file";
  }
  if (key.empty() && rc.type == "pagerduty") rc.urls = {kPagerdutyUrl};
  if (key.empty() && !rc.type.empty() && rc.type != "pagerduty") {
    r.error_here("receiver '" + rc.name + "' has no 'url' (or 'urls', 'url_file')");
  }
  std::set<std::string> seen;
  for (const auto& u : rc.urls) {
    if (!valid_url(u)) {
      r.error_at(key, "receiver '" + rc.name + "': " + key +
                          " must be an http:// or https:// URL with a host");
    } else if (!seen.insert(u).second) {
      r.error_at(key, "receiver '" + rc.name + "': the same URL is listed twice");
    }
  }
}

void read_routing_key(TableReader& r, ReceiverConfig& rc) {
  const bool key = r.has("routing_key"), file = r.has("routing_key_file");
  if (rc.type != "pagerduty") {
    for (const char* k : {"routing_key", "routing_key_file"}) {
      if (r.has(k) && !rc.type.empty()) {
        r.error_at_key(k, std::string("'") + k + "' applies only to pagerduty receivers");
      }
      r.mark(k);
    }
    return;
  }
  if (key && file) {
    r.error_at_key("routing_key_file", "set 'routing_key' or 'routing_key_file', not both");
  }
  bool read = false;
  if (auto v = r.string("routing_key")) {
    rc.routing_key = *v;
    read = true;
  }
  if (auto content = r.secret_file("routing_key_file")) {
    rc.routing_key = *content;
    read = true;
  }
  if (!key && !file) {
    r.error_here("pagerduty receiver '" + rc.name + "' has no 'routing_key' (or 'routing_key_file')");
  } else if (read && rc.routing_key.empty()) {
    r.error_at(key ? "routing_key" : "routing_key_file", "the PagerDuty routing key is empty");
  }
}

std::optional<ReceiverConfig> read_receiver(TableReader& r, bool default_send_resolved) {
  ReceiverConfig rc;
  rc.send_resolved = default_send_resolved;
  if (auto v = r.string("name")) {
    if (valid_name(*v)) {
      rc.name = *v;
    } else {
      r.error_at("name", "receiver name '" + *v + "' may only use letters, digits, '_', '.', '-'");
    }
  } else if (!r.has("name")) {
    r.error_here("receiver has no 'name'");
  }
  r.set_where(rc.name.empty() ? "[[receivers]]" : "receiver '" + rc.name + "'");
  if (auto v = r.string("type")) {
    if (std::find(kReceiverTypes.begin(), kReceiverTypes.end(), *v) == kReceiverTypes.end()) {
      r.error_at("type", "unknown receiver type '" + *v + "' (one of " + type_list() + ")");
    } else {
      rc.type = *v;
    }
  } else if (!r.has("type")) {
    r.error_here("receiver '" + rc.name + "' has no 'type' (one of " + type_list() + ")");
  }
  read_urls(r, rc);
  read_routing_key(r, rc);
  if (auto h = r.string_map("headers")) rc.headers = *h;
  if (auto t = r.duration("timeout")) {
    if (*t < std::chrono::milliseconds(100) || *t > std::chrono::minutes(5)) {
      r.error_at("timeout", "receiver 'timeout' must be between 100ms and 5m");
    } else {
      rc.timeout = *t;
    }
  }
  if (auto q = r.integer("max_queue", 1, 1'000'000)) rc.max_queue = *q;
  if (auto b = r.boolean("send_resolved")) rc.send_resolved = *b;
  r.finish();
  if (rc.name.empty() || rc.type.empty()) return std::nullopt;
  return rc;
}

}  // namespace

std::vector<ReceiverConfig> read_receivers(TableReader& top) {
  // A receiver's send_resolved defaults to [alerting] send_resolved, so peek at it first.
  bool send_resolved = true;
  if (const auto* a = top.raw_top()->get("alerting"); a != nullptr && a->is_table()) {
    if (const auto* b = a->as_table()->get("send_resolved"); b != nullptr && b->is_boolean()) {
      send_resolved = b->as_boolean()->get();
    }
  }
  std::vector<ReceiverConfig> out;
  for (auto& r : top.table_array("receivers")) {
    auto rc = read_receiver(r, send_resolved);
    if (!rc) continue;
    if (std::any_of(out.begin(), out.end(), [&](const auto& x) { return x.name == rc->name; })) {
      r.error_at("name", "duplicate receiver name '" + rc->name + "'");
      continue;
    }
    out.push_back(std::move(*rc));
  }
  return out;
}

AlertingConfig read_alerting(TableReader& top, const std::vector<CheckConfig>& checks) {
  AlertingConfig a;
  auto r = top.table("alerting");
  if (!r) return a;
  if (auto v = r->integer("failure_threshold", 1, 1000)) a.failure_threshold = *v;
  if (auto v = r->integer("success_threshold", 1, 1000)) a.success_threshold = *v;
  if (auto v = r->duration("resend_interval")) {
    if (*v < std::chrono::seconds(1)) {
      r->error_at("resend_interval", "'resend_interval' must be at least 1s");
    } else {
      a.resend_interval = *v;
    }
  }
  if (auto v = r->boolean("send_resolved")) a.send_resolved = *v;
  if (auto v = r->string("canary")) {
    auto it = std::find_if(checks.begin(), checks.end(),
                           [&](const CheckConfig& c) { return c.name == *v; });
    if (it == checks.end()) {
      r->error_at("canary", "canary '" + *v + "' is not the name of a check");
    } else if (it->template_only) {
      r->error_at("canary", "canary '" + *v + "' has no targets, so it never runs");
    } else {
      a.canary = *v;
    }
  }
  if (auto v = r->string("external_url")) {
    if (!valid_url(*v)) {
      r->error_at("external_url", "'external_url' must be an http:// or https:// URL");
    } else {
      a.external_url = *v;
    }
  }
  r->finish();
  return a;
}

}  // namespace probed::config
