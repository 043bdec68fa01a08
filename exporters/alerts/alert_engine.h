// AlertEngine: the ResultSink that turns runs into alert transitions (SPEC §5) for the
// Notifier. Per (check, target): failure_threshold consecutive failures fire ProbeFailed,
// success_threshold consecutive successes resolve it; the served certificates fire
// CertificateExpiringSoon (warning, then critical) independently of the probe's state. While
// the canary check fails, new ProbeFailed alerts are held and one ProberDegraded fires; when the
// canary recovers, held alerts that still fire are sent. Firing alerts are re-sent every
// resend_interval to state-based receivers, and resolved ones for kResolvedResendFor.
// Loop thread only.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "daemon/io/loop.h"
#include "exporters/alerts/alert.h"
#include "exporters/alerts/notifier.h"
#include "exporters/result_sink.h"

namespace probed::exporters::alerts {

class AlertEngine : public ResultSink {
 public:
  // A resolved alert is re-sent to Alertmanager for this long, so a replica that missed the
  // resolve (down, restarting) still learns of it before the firing copy's endsAt.
  static constexpr base::Duration kResolvedResendFor = std::chrono::minutes(5);

  AlertEngine(io::Loop& loop, AlertSink& notifier);
  ~AlertEngine() override;

  void apply(std::shared_ptr<const config::Config> cfg);
  // The scheduler created a slot: the key is live (a reload re-adding it keeps its state).
  void on_added(const config::CheckConfig& check, const config::Target& target);
  // ResultSink
  void on_result(const config::CheckConfig& check, const config::Target& target,
                 const probes::Result& result) override;
  void on_removed(const CheckKey& key) override;

  // Resolves and forgets the state of keys that no slot has (a restored state file may name
  // checks that are gone).
  void sweep();
  // Firing state for the state file, and back.
  nlohmann::json to_json() const;
  void restore(const nlohmann::json& j);
  void on_change(std::function<void()> fn) { changed_ = std::move(fn); }
  // Called when a key's alert state (state_of) changes: the status page shows it.
  using StateFn = std::function<void(const CheckKey&, const std::string&)>;
  void on_state(StateFn fn) { state_fn_ = std::move(fn); }

  // For the status page and tests: "ok", "pending" (failing, under the threshold), "firing",
  // "held" (firing but held by the canary); "certificate warning|critical" (after a comma
  // when the probe part is not "ok") while a CertificateExpiringSoon alert fires.
  std::string state_of(const CheckKey& key) const;
  bool degraded() const { return degraded_.has_value(); }

 private:
  struct State {
    const config::CheckConfig* check = nullptr;  // the config the labels came from
    std::vector<std::string> receivers;
    config::Labels labels;  // series labels
    std::string runbook_url;
    int64_t fails = 0;
    int64_t oks = 0;
    std::optional<Alert> failed;  // ProbeFailed (or the canary's part of ProberDegraded)
    bool announced = false;       // `failed` was sent; false while held by the canary
    std::optional<Alert> cert;    // CertificateExpiringSoon
    std::string shown;            // the state last given to state_fn_
  };
  static std::string state_text(const State& st);
  void publish(const CheckKey& key, State& st);
  void update_probe_state(const CheckKey& key, State& st, const probes::Result& r);
  void update_cert_state(const config::CheckConfig& check, const config::Target& target,
                         State& st, const probes::Result& r);
  Alert make_alert(const State& st, const CheckKey& key, const char* name,
                   const std::string& severity) const;
  void fire(State& st, Alert a, bool hold);
  void resolve(const std::vector<std::string>& receivers, Alert a, bool announced);
  // Sends a newly firing alert and forgets an earlier resolve of it.
  void notify_firing(const std::vector<std::string>& receivers, const Alert& a);
  void canary_changed();
  std::vector<std::string> degraded_receivers() const;
  void arm_resend();
  void resend();
  void changed();
  bool is_canary(const CheckKey& key) const;

  io::Loop& loop_;
  AlertSink& notifier_;
  std::shared_ptr<const config::Config> cfg_;
  CheckKeyMap<State> states_;
  // From the state file, keyed by (check, SHA-256 of the target), until a slot claims it.
  std::map<std::pair<std::string, std::string>, State> restored_;
  std::set<CheckKey> live_;
  std::set<CheckKey> removed_;
  bool sweep_queued_ = false;
  std::optional<Alert> degraded_;  // ProberDegraded while the canary fails
  struct Resolved {
    Alert alert;
    std::vector<std::string> receivers;
  };
  // By Alert::id(): the newest resolve of each alert, so a flapping check keeps one entry;
  // dropped when the alert fires again (a re-sent old resolve must not end the new one).
  std::map<std::string, Resolved> recently_resolved_;
  io::TimerId resend_timer_ = 0;
  base::Duration resend_every_{};
  std::function<void()> changed_;
  StateFn state_fn_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace probed::exporters::alerts
