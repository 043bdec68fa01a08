#include "exporters/alerts/alert_engine.h"

#include <algorithm>
#include <cmath>

#include "config/duration.h"
#include "daemon/base/log.h"
#include "daemon/base/redact.h"

namespace probed::exporters::alerts {
namespace {

std::string describe(const probes::Result& r) {
  return std::string(probes::to_label(r.reason)) + ": " + base::redact(r.message);
}

void set_annotation(Alert& a, const std::string& name, const std::string& value) {
  for (auto& [k, v] : a.annotations) {
    if (k == name) {
      v = value;
      return;
    }
  }
  a.annotations.emplace_back(name, value);
  std::sort(a.annotations.begin(), a.annotations.end());
}

std::vector<std::string> strings_of(const nlohmann::json& j) {
  std::vector<std::string> out;
  for (const auto& s : j) out.push_back(s.get<std::string>());
  return out;
}

}  // namespace

AlertEngine::AlertEngine(io::Loop& loop, AlertSink& notifier) : loop_(loop), notifier_(notifier) {}

AlertEngine::~AlertEngine() {
  *alive_ = false;
  if (resend_timer_ != 0) loop_.cancel(resend_timer_);
}

void AlertEngine::apply(std::shared_ptr<const config::Config> cfg) {
  const bool canary_moved = cfg_ && cfg_->alerting.canary != cfg->alerting.canary;
  cfg_ = std::move(cfg);
  for (auto& [key, st] : states_) st.check = nullptr;  // labels are rebuilt on the next result
  if (canary_moved) {
    // The old canary's state means nothing under the new one: start its count again.
    for (auto& [key, st] : states_) {
      if (st.failed && st.failed->name == kProberDegraded) {
        st.failed.reset();
        st.fails = st.oks = 0;
      }
    }
    canary_changed();
  }
  if (resend_every_ != cfg_->alerting.resend_interval || resend_timer_ == 0) {
    resend_every_ = cfg_->alerting.resend_interval;
    arm_resend();
  }
}

bool AlertEngine::is_canary(const CheckKey& key) const {
  return cfg_ && !cfg_->alerting.canary.empty() && key.check == cfg_->alerting.canary;
}

void AlertEngine::on_added(const config::CheckConfig& check, const config::Target& target) {
  CheckKey key{check.name, target.address};
  live_.insert(key);
  if (restored_.empty()) return;
  auto it = restored_.find({check.name, sha256_hex(target.address)});
  if (it == restored_.end()) return;
  State& st = states_[key] = std::move(it->second);
  restored_.erase(it);
  st.shown.clear();
  publish(key, st);
}

void AlertEngine::on_removed(const CheckKey& key) {
  live_.erase(key);
  if (sweep_queued_) return;
  // A reload removes a changed check and adds it again in the same turn; only what is still
  // gone on the next turn loses its alerts.
  sweep_queued_ = true;
  loop_.defer([this, alive = alive_] {
    if (!*alive) return;
    sweep_queued_ = false;
    sweep();
  });
}

void AlertEngine::sweep() {
  // Restored state no slot claimed: its check or target is gone since the state was saved.
  for (auto& [key, st] : restored_) {
    states_[{key.first, "#" + key.second}] = std::move(st);
  }
  restored_.clear();
  bool canary_gone = false;
  for (auto it = states_.begin(); it != states_.end();) {
    if (live_.count(it->first) != 0) {
      ++it;
      continue;
    }
    State& st = it->second;
    const double now = base::unix_now();
    for (auto* a : {&st.failed, &st.cert}) {
      if (!*a || (*a)->name == kProberDegraded) continue;
      Alert r = **a;
      r.ends_at = now;
      set_annotation(r, "description", "the check or target was removed from the configuration");
      resolve(st.receivers, r, a == &st.cert || st.announced);
    }
    if (st.failed && st.failed->name == kProberDegraded) canary_gone = true;
    it = states_.erase(it);
    changed();
  }
  if (canary_gone) canary_changed();
}

Alert AlertEngine::make_alert(const State& st, const CheckKey& key, const char* name,
                              const std::string& severity) const {
  Alert a;
  a.name = name;
  a.severity = severity;
  a.check = key.check;
  a.target = base::redact(key.target);  // a token in a target URL stays out of every payload
  a.location = cfg_ ? cfg_->daemon.location : "";
  for (const auto& [k, v] : st.labels) {
    if (k != "alertname" && k != "severity") a.labels.emplace_back(k, v);
  }
  a.labels.emplace_back("alertname", name);
  a.labels.emplace_back("severity", severity);
  std::sort(a.labels.begin(), a.labels.end());
  if (!st.runbook_url.empty()) a.annotations.emplace_back("runbook_url", st.runbook_url);
  a.starts_at = base::unix_now();
  return a;
}

void AlertEngine::on_result(const config::CheckConfig& check, const config::Target& target,
                            const probes::Result& result) {
  if (!cfg_) return;
  auto it = states_.find(CheckKeyRef{check.name, target.address});
  if (it == states_.end()) it = states_.emplace(CheckKey{check.name, target.address}, State{}).first;
  const CheckKey& key = it->first;
  State& st = it->second;
  if (st.check != &check) {
    st.check = &check;
    st.receivers = check.alert_receivers;
    st.labels = series_labels(check, target, cfg_->daemon.location);
    st.runbook_url = check.runbook_url;
  }
  update_probe_state(key, st, result);
  update_cert_state(check, target, st, result);
  publish(key, st);
}

void AlertEngine::publish(const CheckKey& key, State& st) {
  std::string now = state_text(st);
  if (now == st.shown) return;
  st.shown = now;
  if (state_fn_) state_fn_(key, now);
}

void AlertEngine::update_probe_state(const CheckKey& key, State& st, const probes::Result& r) {
  if (r.success) {
    ++st.oks;
    st.fails = 0;
  } else {
    ++st.fails;
    st.oks = 0;
  }
  const auto& th = cfg_->alerting;
  if (!st.failed) {
    if (r.success || st.fails < th.failure_threshold) return;
    const bool canary = is_canary(key);
    Alert a = make_alert(st, key, canary ? kProberDegraded : kProbeFailed, "critical");
    set_annotation(a, "summary", key.target == key.check ? key.check + " is failing"
                                                         : key.check + " is failing for " + a.target);
    set_annotation(a, "description", describe(r));
    if (canary) {
      st.failed = a;  // the canary's own part; the one ProberDegraded is degraded_
      st.announced = true;
      changed();
      canary_changed();
      return;
    }
    fire(st, std::move(a), degraded_.has_value());
  } else if (!r.success) {
    // Still firing: the newest reason goes out with the next re-send.
    set_annotation(*st.failed, "description", describe(r));
    if (is_canary(key) && degraded_) set_annotation(*degraded_, "description", describe(r));
  } else if (st.oks >= th.success_threshold) {
    Alert a = std::move(*st.failed);
    st.failed.reset();
    if (a.name == kProberDegraded) {
      changed();
      canary_changed();
      return;
    }
    a.ends_at = base::unix_now();
    resolve(st.receivers, std::move(a), st.announced);
    st.announced = false;
  }
}

void AlertEngine::update_cert_state(const config::CheckConfig& check, const config::Target& target,
                                    State& st, const probes::Result& r) {
  if (r.chain.empty() || !check.spec) return;  // no TLS seen this run: nothing new to judge
  auto th = check.spec->cert_thresholds(target.address);
  if (!th) return;
  const auto& c = *std::min_element(r.chain.begin(), r.chain.end(), [](const auto& a, const auto& b) {
    return a.not_after < b.not_after;
  });
  const double now = base::unix_now();
  auto status = probes::cert_status(c, now, th->warning, th->critical);
  std::string severity = status == probes::CertStatus::Warning ? "warning"
                         : status == probes::CertStatus::Critical || status == probes::CertStatus::Expired
                             ? "critical"
                             : "";
  if (st.cert && st.cert->severity != severity) {
    Alert old = std::move(*st.cert);
    st.cert.reset();
    old.ends_at = now;
    resolve(st.receivers, std::move(old), true);
  }
  if (severity.empty()) return;
  const double days = probes::days_left(c, now);
  const auto whole = static_cast<int64_t>(std::floor(std::abs(days)));
  std::string summary = "certificate for " + base::redact(target.address) +
                        (days < 0 ? " expired " + std::to_string(whole) + " days ago"
                                  : " expires in " + std::to_string(whole) + " days");
  std::string description = c.subject + " issued by " + c.issuer +
                            (c.source.empty() ? "" : " in " + c.source) + " is valid until " +
                            rfc3339(static_cast<double>(c.not_after)) + " (" + severity + " below " +
                            config::format_duration(severity == "warning" ? th->warning : th->critical) +
                            ")";
  if (st.cert) {
    set_annotation(*st.cert, "summary", summary);
    set_annotation(*st.cert, "description", description);
    return;
  }
  Alert a = make_alert(st, {check.name, target.address}, kCertificateExpiringSoon, severity);
  set_annotation(a, "summary", summary);
  set_annotation(a, "description", description);
  st.cert = a;
  notify_firing(st.receivers, a);
  changed();
}

void AlertEngine::fire(State& st, Alert a, bool hold) {
  st.failed = std::move(a);
  st.announced = !hold;
  if (!hold) notify_firing(st.receivers, *st.failed);
  changed();
}

void AlertEngine::notify_firing(const std::vector<std::string>& receivers, const Alert& a) {
  recently_resolved_.erase(a.id());
  notifier_.notify(receivers, a);
}

void AlertEngine::resolve(const std::vector<std::string>& receivers, Alert a, bool announced) {
  if (announced) {
    notifier_.notify(receivers, a);
    std::string id = a.id();
    recently_resolved_.insert_or_assign(std::move(id), Resolved{std::move(a), receivers});
  }
  changed();
}

std::vector<std::string> AlertEngine::degraded_receivers() const {
  if (const auto* c = cfg_->find_check(cfg_->alerting.canary); c && !c->alert_receivers.empty()) {
    return c->alert_receivers;
  }
  std::vector<std::string> all;
  for (const auto& r : cfg_->receivers) all.push_back(r.name);
  return all;
}

void AlertEngine::canary_changed() {
  const State* failing = nullptr;
  CheckKey failing_key;
  for (const auto& [key, st] : states_) {
    if (st.failed && st.failed->name == kProberDegraded && is_canary(key)) {
      failing = &st;
      failing_key = key;
    }
  }
  if (failing != nullptr && !degraded_) {
    State scope;
    scope.runbook_url = failing->runbook_url;
    if (!cfg_->daemon.location.empty()) scope.labels.emplace_back("location", cfg_->daemon.location);
    scope.labels.emplace_back("check", failing_key.check);
    Alert a = make_alert(scope, {failing_key.check, ""}, kProberDegraded, "critical");
    set_annotation(a, "summary", "the prober's canary " + failing_key.check +
                                     " is failing; other checks' alerts are held");
    set_annotation(a, "description", failing->failed->annotation("description"));
    degraded_ = a;
    base::log_warn("canary failing: alerts held", {{"canary", failing_key.check}});
    notify_firing(degraded_receivers(), a);
    changed();
  } else if (failing == nullptr && degraded_) {
    Alert a = std::move(*degraded_);
    degraded_.reset();
    a.ends_at = base::unix_now();
    resolve(degraded_receivers(), std::move(a), true);
    size_t released = 0;
    for (auto& [key, st] : states_) {
      if (st.failed && !st.announced) {
        st.announced = true;
        notify_firing(st.receivers, *st.failed);
        publish(key, st);
        ++released;
      }
    }
    base::log_info("canary recovered: held alerts released", {{"released", std::to_string(released)}});
    changed();
  }
}

void AlertEngine::arm_resend() {
  if (resend_timer_ != 0) loop_.cancel(resend_timer_);
  resend_timer_ = loop_.after(resend_every_, [this] {
    resend_timer_ = 0;
    resend();
    arm_resend();
  });
}

void AlertEngine::resend() {
  for (const auto& [key, st] : states_) {
    if (st.failed && st.announced && st.failed->name != kProberDegraded) {
      notifier_.notify(st.receivers, *st.failed, true);
    }
    if (st.cert) notifier_.notify(st.receivers, *st.cert, true);
  }
  if (degraded_) notifier_.notify(degraded_receivers(), *degraded_, true);
  const double cutoff = base::unix_now() - base::to_seconds(kResolvedResendFor);
  std::erase_if(recently_resolved_,
                [&](const auto& kv) { return kv.second.alert.ends_at < cutoff; });
  for (const auto& [id, r] : recently_resolved_) notifier_.notify(r.receivers, r.alert, true);
}

void AlertEngine::changed() {
  if (changed_) changed_();
}

std::string AlertEngine::state_of(const CheckKey& key) const {
  auto it = states_.find(key);
  return it == states_.end() ? "ok" : state_text(it->second);
}

std::string AlertEngine::state_text(const State& st) {
  std::string s = st.failed ? (st.announced ? "firing" : "held") : st.fails > 0 ? "pending" : "";
  if (st.cert) s += (s.empty() ? "certificate " : ", certificate ") + st.cert->severity;
  return s.empty() ? "ok" : s;
}

nlohmann::json AlertEngine::to_json() const {
  using nlohmann::json;
  json alerts = json::array();
  for (const auto& [key, st] : states_) {
    if (!st.failed && !st.cert) continue;  // counts under the threshold are not kept
    // The target may carry a secret (a token in a URL): the file keeps its hash.
    alerts.push_back({{"check", key.check},
                      {"target_sha256", sha256_hex(key.target)},
                      {"receivers", st.receivers},
                      {"fails", st.fails},
                      {"oks", st.oks},
                      {"announced", st.announced},
                      {"failed", st.failed ? alerts::to_json(*st.failed) : json(nullptr)},
                      {"cert", st.cert ? alerts::to_json(*st.cert) : json(nullptr)}});
  }
  json resolved = json::array();
  for (const auto& [id, r] : recently_resolved_) {
    resolved.push_back({{"alert", alerts::to_json(r.alert)}, {"receivers", r.receivers}});
  }
  return {{"alerts", alerts},
          {"degraded", degraded_ ? alerts::to_json(*degraded_) : json(nullptr)},
          {"resolved", resolved}};
}

void AlertEngine::restore(const nlohmann::json& j) {
  try {
    for (const auto& e : j.value("alerts", nlohmann::json::array())) {
      State st;
      st.receivers = strings_of(e.at("receivers"));
      st.fails = e.at("fails").get<int64_t>();
      st.oks = e.at("oks").get<int64_t>();
      st.announced = e.at("announced").get<bool>();
      if (!e.at("failed").is_null()) st.failed = alert_from_json(e.at("failed"));
      if (!e.at("cert").is_null()) st.cert = alert_from_json(e.at("cert"));
      restored_[{e.at("check").get<std::string>(), e.at("target_sha256").get<std::string>()}] =
          std::move(st);
    }
    if (j.contains("degraded") && !j.at("degraded").is_null()) {
      degraded_ = alert_from_json(j.at("degraded"));
    }
    for (const auto& r : j.value("resolved", nlohmann::json::array())) {
      Alert a = alert_from_json(r.at("alert"));
      std::string id = a.id();
      recently_resolved_.insert_or_assign(std::move(id), Resolved{std::move(a), strings_of(r.at("receivers"))});
    }
  } catch (const nlohmann::json::exception& e) {
    base::log_warn("alert state unreadable; starting without it", {{"error", e.what()}});
  }
}

}  // namespace probed::exporters::alerts
