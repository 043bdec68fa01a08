#include "exporters/alerts/notifier.h"

#include <algorithm>

#include "daemon/base/log.h"
#include "daemon/base/redact.h"

namespace probed::exporters::alerts {
namespace {

std::string url_hash(const std::string& url) { return sha256_hex(url).substr(0, 16); }

bool retryable(const io::HttpAnswer& a) {
  return a.status == 0 || a.status >= 500 || a.status == 429 || a.status == 408;
}

std::string one_line(std::string s) {
  if (s.size() > 200) s.resize(200);
  std::replace(s.begin(), s.end(), '\n', ' ');
  std::replace(s.begin(), s.end(), '\r', ' ');
  return s;
}

}  // namespace

struct Notifier::Lane {
  std::string receiver;
  std::string url;   // as configured; may be a secret (Slack)
  std::string hash;  // what the spool keeps instead of the URL
  std::shared_ptr<const Receiver> rx;
  struct Queued {
    Alert alert;
    std::string id;  // alert.id(), kept: the coalescing search compares it at every enqueue
  };
  std::deque<Queued> queue;
  size_t sending = 0;  // entries at the front that the request in flight carries
  std::unique_ptr<io::HttpPost> post;
  io::TimerId retry = 0;
  int failures = 0;
  bool parked = false;  // flushing: failed once more, left for the spool
};

Notifier::Notifier(io::Loop& loop, io::CurlMulti& curl, io::AresPool& ares,
                   DaemonMetrics& metrics, Backoff backoff)
    : loop_(loop), curl_(curl), ares_(ares), metrics_(metrics), backoff_(backoff) {}

Notifier::~Notifier() {
  for (auto& [key, lane] : lanes_) {
    if (lane->retry != 0) loop_.cancel(lane->retry);
  }
  if (flush_timer_ != 0) loop_.cancel(flush_timer_);
}

void Notifier::apply(const config::Config& cfg, const std::string& generator_url) {
  generator_url_ = generator_url;
  resend_interval_ = cfg.alerting.resend_interval;
  std::map<std::string, std::unique_ptr<Lane>> next;
  for (const auto& rc : cfg.receivers) {
    std::shared_ptr<const Receiver> rx = make_receiver(rc);
    if (!rx) continue;
    metrics_.add_receiver(rc.name);
    for (const auto& url : rc.urls) {
      std::string key = rc.name + "\n" + url;
      auto it = lanes_.find(key);
      std::unique_ptr<Lane> lane;
      if (it != lanes_.end()) {
        lane = std::move(it->second);
        lanes_.erase(it);
      } else {
        lane = std::make_unique<Lane>();
        lane->receiver = rc.name;
        lane->url = url;
        lane->hash = url_hash(url);
        lane->post = std::make_unique<io::HttpPost>(loop_, curl_, ares_);
      }
      lane->rx = rx;
      next.emplace(key, std::move(lane));
    }
  }
  // Lanes of removed receivers (or URLs): their queue is dropped, and counted.
  for (auto& [key, lane] : lanes_) {
    if (lane->retry != 0) loop_.cancel(lane->retry);
    lane->post->cancel();
    if (!lane->queue.empty()) {
      metrics_.count_notifications(lane->receiver, "dropped", lane->queue.size());
      base::log_warn("receiver removed; its queued notifications are dropped",
                     {{"receiver", lane->receiver}, {"dropped", std::to_string(lane->queue.size())}});
    }
    const std::string& name = lane->receiver;
    bool gone = std::none_of(next.begin(), next.end(),
                             [&name](const auto& kv) { return kv.second->receiver == name; });
    if (gone) metrics_.forget_receiver(name);
  }
  lanes_ = std::move(next);
  for (auto& [key, lane] : lanes_) {
    size_t n = 0;
    for (const auto& [k, l] : lanes_) {
      if (l->receiver == lane->receiver) n += l->queue.size();
    }
    metrics_.set_queue_length(lane->receiver, n);
  }
}

void Notifier::notify(const std::vector<std::string>& receivers, const Alert& a, bool resend) {
  for (const auto& name : receivers) {
    for (auto& [key, lane] : lanes_) {
      if (lane->receiver != name) continue;
      if (resend && !lane->rx->state_based()) continue;
      if (a.resolved() && !lane->rx->config().send_resolved) continue;
      enqueue(*lane, a);
    }
  }
}

void Notifier::enqueue(Lane& lane, const Alert& a) {
  bool replaced = false;
  std::string id = a.id();
  if (lane.rx->state_based()) {
    // Alertmanager holds state, so only the newest notification about an alert matters.
    for (size_t i = lane.sending; i < lane.queue.size(); ++i) {
      if (lane.queue[i].id == id) {
        lane.queue[i].alert = a;
        replaced = true;
        break;
      }
    }
  }
  if (!replaced) {
    if (lane.queue.size() - lane.sending >= static_cast<size_t>(lane.rx->config().max_queue)) {
      lane.queue.erase(lane.queue.begin() + static_cast<std::ptrdiff_t>(lane.sending));
      metrics_.count_notifications(lane.receiver, "dropped", 1);
    }
    lane.queue.push_back({a, std::move(id)});
  }
  changed();
  pump(lane);
}

void Notifier::pump(Lane& lane) {
  if (lane.post->active() || lane.retry != 0 || lane.parked || lane.queue.empty()) return;
  const size_t n = std::min(lane.queue.size(), lane.rx->batch_size());
  std::vector<Alert> batch;
  batch.reserve(n);
  for (size_t i = 0; i < n; ++i) batch.push_back(lane.queue[i].alert);
  RenderContext ctx{base::unix_now(), resend_interval_, generator_url_, lane.receiver};
  std::string body = lane.rx->render(batch, ctx);
  lane.sending = n;
  Lane* l = &lane;
  lane.post->start(lane.rx->endpoint(lane.url), std::move(body), lane.rx->headers(),
                   lane.rx->config().timeout,
                   [this, l](io::HttpAnswer ans) { on_answer(*l, std::move(ans)); });
}

void Notifier::on_answer(Lane& lane, io::HttpAnswer ans) {
  const size_t n = lane.sending;
  lane.sending = 0;
  if (ans.status >= 200 && ans.status < 300) {
    metrics_.count_notifications(lane.receiver, "sent", n);
    if (lane.failures > 0) {
      base::log_info("receiver delivering again", {{"receiver", lane.receiver}});
    }
    lane.failures = 0;
    pop(lane, n);
  } else if (retryable(ans)) {
    metrics_.count_notifications(lane.receiver, "failed", n);
    retry_later(lane, ans, n);
  } else {
    // A 4xx other than 408/429 will not change by retrying: the payload or the key is wrong.
    metrics_.count_notifications(lane.receiver, "failed", n);
    base::log_error("receiver rejected a notification; not retried",
                    {{"receiver", lane.receiver}, {"status", std::to_string(ans.status)},
                     {"answer", base::redact(one_line(ans.body))}});
    pop(lane, n);
  }
  check_flushed();
  pump(lane);
}

void Notifier::retry_later(Lane& lane, const io::HttpAnswer& ans, size_t n) {
  ++lane.failures;
  const std::string why = ans.status != 0 ? "status " + std::to_string(ans.status)
                                          : base::redact(ans.error);
  if (flushing_) {
    lane.parked = true;
    return;
  }
  base::Duration delay = ans.retry_after >= base::Duration(0)
                             ? std::min(ans.retry_after, backoff_.max_retry_after)
                             : backoff_delay(lane.failures);
  base::log_warn("notification not delivered; will retry",
                 {{"receiver", lane.receiver}, {"error", why},
                  {"alerts", std::to_string(n)},
                  {"retry_in_ms", std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(delay).count())}});
  Lane* l = &lane;
  lane.retry = loop_.after(delay, [this, l] {
    l->retry = 0;
    pump(*l);
  });
}

// Exponential with "equal jitter": half the step fixed, half random, so retries of many
// probers spread out but never come back sooner than half the step.
base::Duration Notifier::backoff_delay(int failures) {
  base::Duration step = backoff_.initial;
  for (int i = 1; i < failures && step < backoff_.max; ++i) step *= 2;
  step = std::min(step, backoff_.max);
  std::uniform_int_distribution<int64_t> half(0, step.count() / 2);
  return base::Duration(step.count() / 2 + half(rng_));
}

void Notifier::pop(Lane& lane, size_t n) {
  lane.queue.erase(lane.queue.begin(), lane.queue.begin() + static_cast<std::ptrdiff_t>(n));
  changed();
}

size_t Notifier::pending() const {
  size_t n = 0;
  for (const auto& [key, lane] : lanes_) n += lane->queue.size();
  return n;
}

void Notifier::changed() {
  std::map<std::string, size_t> per_receiver;
  for (const auto& [key, lane] : lanes_) per_receiver[lane->receiver] += lane->queue.size();
  for (const auto& [name, n] : per_receiver) metrics_.set_queue_length(name, n);
  if (changed_) changed_();
}

nlohmann::json Notifier::to_json() const {
  nlohmann::json lanes = nlohmann::json::array();
  for (const auto& [key, lane] : lanes_) {
    if (lane->queue.empty()) continue;
    nlohmann::json alerts = nlohmann::json::array();
    for (const auto& q : lane->queue) alerts.push_back(alerts::to_json(q.alert));
    lanes.push_back({{"receiver", lane->receiver}, {"url_sha256", lane->hash}, {"alerts", alerts}});
  }
  return lanes;
}

void Notifier::restore(const nlohmann::json& spool) {
  if (!spool.is_array()) return;
  for (const auto& entry : spool) {
    try {
      const auto receiver = entry.at("receiver").get<std::string>();
      const auto hash = entry.at("url_sha256").get<std::string>();
      Lane* lane = nullptr;
      for (auto& [key, l] : lanes_) {
        if (l->receiver == receiver && l->hash == hash) lane = l.get();
      }
      const auto& alerts = entry.at("alerts");
      if (lane == nullptr) {
        base::log_warn("spooled notifications dropped: their receiver is no longer configured",
                       {{"receiver", receiver}, {"dropped", std::to_string(alerts.size())}});
        continue;
      }
      for (const auto& a : alerts) enqueue(*lane, alert_from_json(a));
      base::log_info("spooled notifications queued again",
                     {{"receiver", receiver}, {"count", std::to_string(alerts.size())}});
    } catch (const nlohmann::json::exception& e) {
      base::log_warn("spool entry unreadable; skipped", {{"error", e.what()}});
    }
  }
}

void Notifier::flush(base::Duration bound, std::function<void()> done) {
  flushing_ = true;
  flushed_ = std::move(done);
  for (auto& [key, lane] : lanes_) {
    if (lane->retry != 0) {
      loop_.cancel(lane->retry);
      lane->retry = 0;
    }
    pump(*lane);
  }
  flush_timer_ = loop_.after(bound, [this] {
    flush_timer_ = 0;
    for (auto& [key, lane] : lanes_) {
      lane->post->cancel();
      lane->sending = 0;
    }
    if (auto fn = std::move(flushed_)) fn();
  });
  loop_.defer([this] { check_flushed(); });
}

void Notifier::check_flushed() {
  if (!flushing_ || !flushed_) return;
  for (const auto& [key, lane] : lanes_) {
    if (lane->post->active()) return;
    if (!lane->queue.empty() && !lane->parked) return;
  }
  if (flush_timer_ != 0) loop_.cancel(flush_timer_);
  flush_timer_ = 0;
  auto fn = std::move(flushed_);
  flushed_ = nullptr;
  fn();
}

}  // namespace probed::exporters::alerts
