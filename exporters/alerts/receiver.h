// Receiver: turns alerts into one receiver type's request body (SPEC §5). Receivers only
// render; queueing, retries, the spool and HA fan-out live once in the Notifier. render() is a
// pure function of its inputs, so golden tests check it directly. Immutable after creation;
// loop thread (and tests).
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "config/alerting.h"
#include "exporters/alerts/alert.h"

namespace probed::exporters::alerts {

struct RenderContext {
  double now = 0;                 // unix seconds at send time
  base::Duration resend_interval = std::chrono::minutes(1);
  std::string generator_url;      // the status page, "http://127.0.0.1:9465/"
  std::string receiver;           // the receiver's name
};

class Receiver {
 public:
  explicit Receiver(config::ReceiverConfig cfg) : cfg_(std::move(cfg)) {}
  virtual ~Receiver() = default;
  const config::ReceiverConfig& config() const { return cfg_; }

  // How many alerts one request may carry (Alertmanager takes a list).
  virtual size_t batch_size() const { return 1; }
  // State-based receivers get firing alerts again every resend_interval, and a newer
  // notification about an alert replaces a queued older one; event-based ones get each
  // transition once.
  virtual bool state_based() const { return false; }
  // Where requests for one of config().urls go.
  virtual std::string endpoint(const std::string& url) const { return url; }
  // "Name: value" lines: Content-Type and the configured headers.
  std::vector<std::string> headers() const;
  virtual std::string render(std::span<const Alert> alerts, const RenderContext& ctx) const = 0;

 private:
  config::ReceiverConfig cfg_;
};

std::unique_ptr<Receiver> make_receiver(const config::ReceiverConfig& cfg);

// Shared by the renderers: generatorURL of an alert, and a duration as "3m20s".
std::string generator_url(const Alert& a, const RenderContext& ctx);
std::string short_duration(double seconds);

}  // namespace probed::exporters::alerts
