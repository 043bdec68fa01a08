#include "exporters/alerts/alert.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cmath>
#include <ctime>

namespace probed::exporters::alerts {
namespace {

std::string find(const config::Labels& l, std::string_view name) {
  for (const auto& [k, v] : l) {
    if (k == name) return v;
  }
  return {};
}

nlohmann::json labels_json(const config::Labels& l) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : l) j[k] = v;
  return j;
}

config::Labels labels_from(const nlohmann::json& j) {
  config::Labels out;
  for (auto it = j.begin(); it != j.end(); ++it) out.emplace_back(it.key(), it.value().get<std::string>());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

std::string Alert::id() const {
  std::string out = name;
  for (const auto& [k, v] : labels) {
    out += '\x1f';
    out += k;
    out += '=';
    out += v;
  }
  return out;
}

std::string Alert::label(std::string_view n) const { return find(labels, n); }
std::string Alert::annotation(std::string_view n) const { return find(annotations, n); }

std::string rfc3339(double unix_seconds) {
  if (!std::isfinite(unix_seconds) || unix_seconds < 0) unix_seconds = 0;
  unix_seconds = std::min(unix_seconds, 253402300799.0);  // 9999-12-31T23:59:59Z
  double whole = std::floor(unix_seconds);
  auto t = static_cast<time_t>(whole);
  int ms = static_cast<int>(std::lround((unix_seconds - whole) * 1000));
  if (ms >= 1000) {
    ++t;
    ms -= 1000;
  }
  tm tm{};
  gmtime_r(&t, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
  return buf;
}

std::string sha256_hex(std::string_view text) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(text.data(), text.size(), md, &n, EVP_sha256(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < n; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

std::string dump_json(const nlohmann::json& j, int indent) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

nlohmann::json to_json(const Alert& a) {
  return {{"name", a.name},          {"severity", a.severity},
          {"labels", labels_json(a.labels)}, {"annotations", labels_json(a.annotations)},
          {"check", a.check},        {"target", a.target},
          {"location", a.location},  {"starts_at", a.starts_at},
          {"ends_at", a.ends_at}};
}

Alert alert_from_json(const nlohmann::json& j) {
  Alert a;
  a.name = j.at("name").get<std::string>();
  a.severity = j.at("severity").get<std::string>();
  a.labels = labels_from(j.at("labels"));
  a.annotations = labels_from(j.at("annotations"));
  a.check = j.at("check").get<std::string>();
  a.target = j.at("target").get<std::string>();
  a.location = j.value("location", "");
  a.starts_at = j.at("starts_at").get<double>();
  a.ends_at = j.at("ends_at").get<double>();
  return a;
}

}  // namespace probed::exporters::alerts
