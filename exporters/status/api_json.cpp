#include "exporters/status/api_json.h"

#include <nlohmann/json.hpp>

#include "daemon/base/redact.h"

namespace probed::exporters {
namespace {

using nlohmann::json;

json history_json(const RunHistory& h) {
  json out = json::array();
  for (size_t i = 0; i < h.size(); ++i) {
    out.push_back({{"success", h.success_at(i)}, {"duration_seconds", h.seconds_at(i)}});
  }
  return out;
}

json row_json(const StatusRow& r) {
  json j = {{"check", r.check},
            {"type", r.type},
            {"target", r.target},
            {"state", to_string(r.state)},
            {"runs", r.runs},
            {"consecutive_failures", r.consecutive_failures}};
  if (r.runs > 0) {
    j["last_result"] = {{"success", r.state == CheckState::Up},
                        {"reason", r.reason},
                        {"message", base::redact(r.message)},
                        {"duration_seconds", r.duration_s},
                        {"timestamp", r.last_run_unix}};
  } else {
    j["last_result"] = nullptr;
  }
  j["history"] = history_json(r.history);
  if (!r.alert.empty()) j["alert"] = r.alert;
  return j;
}

json envelope(const StatusSnapshot& s) {
  json j = {{"generated_at", s.generated_unix}};
  if (!s.location.empty()) j["location"] = s.location;
  return j;
}

}  // namespace

std::string checks_json(const StatusSnapshot& s) {
  json j = envelope(s);
  j["summary"] = {{"up", s.up}, {"down", s.down}, {"pending", s.pending}};
  json rows = json::array();
  for (const auto& r : s.checks) rows.push_back(row_json(*r));
  j["checks"] = std::move(rows);
  return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string certs_json(const StatusSnapshot& s) {
  json j = envelope(s);
  j["certs"] = cert_rows_json(s.certs);
  return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace probed::exporters
