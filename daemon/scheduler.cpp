#include "daemon/scheduler.h"

#include <algorithm>

#include "daemon/base/log.h"

namespace probed::daemon {

uint64_t stable_hash(std::string_view s) {
  uint64_t h = 14695981039346656037ull;  // FNV-1a 64-bit offset basis
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

bool in_shard(std::string_view check, uint32_t index, uint32_t count) {
  return count <= 1 || stable_hash(check) % count == index;
}

base::Duration first_run_offset(const CheckKey& key, base::Duration interval) {
  std::string k = key.check;
  k.push_back('\0');
  k += key.target;
  // Spread over the interval, but over at most a minute: an hourly check should not wait up
  // to an hour for its first result after a start.
  auto window = std::min<base::Duration>(interval, std::chrono::minutes(1));
  auto n = static_cast<uint64_t>(window.count());
  return base::Duration(n == 0 ? 0 : static_cast<int64_t>(stable_hash(k) % n));
}

Scheduler::Scheduler(io::Loop& loop, probes::Services& services,
                     exporters::DaemonMetrics& metrics)
    : loop_(loop), services_(services), metrics_(metrics) {}

Scheduler::~Scheduler() { stop(); }

void Scheduler::apply(std::shared_ptr<const config::Config> cfg) {
  const auto& d = cfg->daemon;
  max_inflight_ = static_cast<size_t>(d.max_inflight);
  std::map<CheckKey, std::pair<const config::CheckConfig*, config::Target>> wanted;
  for (const auto& c : cfg->checks) {
    if (!in_shard(c.name, d.shard_index, d.shard_count)) continue;
    for (const auto& t : c.targets) wanted[{c.name, t.address}] = {&c, t};
  }
  // Drop what is gone or changed; keep what is equal (schedule, probe and counters stay).
  std::vector<CheckKey> drop;
  for (auto& [key, slot] : slots_) {
    auto it = wanted.find(key);
    if (it == wanted.end() || it->second.first->fingerprint != slot->check->fingerprint ||
        it->second.second != slot->target) {
      drop.push_back(key);
    } else {
      slot->check = it->second.first;  // same settings, now owned by the new config
    }
  }
  for (const auto& key : drop) remove_slot(key);
  auto old = std::move(config_);
  config_ = std::move(cfg);
  for (const auto& [key, want] : wanted) {
    if (slots_.count(key) == 0) add_slot(*want.first, want.second);
  }
  metrics_.set_checks(slots_.size());
  // The old config may still be referenced by a deferred Run deletion; release it after.
  if (old) loop_.defer([old] {});
}

void Scheduler::set_targets(const std::string& check, std::vector<config::Target> targets) {
  if (!config_) return;
  const config::CheckConfig* c = config_->find_check(check);
  if (c == nullptr || !in_shard(c->name, config_->daemon.shard_index, config_->daemon.shard_count)) {
    return;
  }
  std::map<std::string, config::Target> wanted;
  for (auto& t : targets) wanted[t.address] = t;
  std::vector<CheckKey> drop;
  for (auto& [key, slot] : slots_) {
    if (key.check != check) continue;
    auto it = wanted.find(key.target);
    if (it == wanted.end() || it->second != slot->target) drop.push_back(key);
  }
  for (const auto& key : drop) remove_slot(key);
  for (const auto& [addr, t] : wanted) {
    if (slots_.count({check, addr}) == 0) add_slot(*c, t);
  }
  metrics_.set_checks(slots_.size());
}

void Scheduler::add_slot(const config::CheckConfig& check, const config::Target& target) {
  const probes::ProbeType* type = probes::find_probe_type(check.type);
  if (type == nullptr || type->make == nullptr) return;
  auto s = std::make_unique<Slot>();
  s->key = {check.name, target.address};
  s->check = &check;
  s->target = target;
  s->probe = type->make(check, target, services_);
  s->next_due = loop_.now() + first_run_offset(s->key, check.interval);
  for (auto& fn : added_fns_) fn(check, target);
  Slot& ref = *s;
  slots_.emplace(s->key, std::move(s));
  arm(ref);
}

void Scheduler::remove_slot(const CheckKey& key) {
  auto it = slots_.find(key);
  if (it == slots_.end()) return;
  std::unique_ptr<Slot> s = std::move(it->second);
  slots_.erase(it);
  if (s->timer != 0) loop_.cancel(s->timer);
  if (s->running) {
    s->running->abandon();
    --inflight_;
    metrics_.set_inflight(inflight_);
    loop_.defer([this] {
      start_queued();  // its place in max_inflight is free now
      if (drained_ && inflight_ == 0) finish_drain();
    });
  }
  for (auto* sink : sinks_) sink->on_removed(key);
  bool last_of_check = std::none_of(slots_.begin(), slots_.end(),
                                    [&](const auto& kv) { return kv.first.check == key.check; });
  if (last_of_check) metrics_.forget_check(key.check);
  // Never destroy a probe inside its own callback (DESIGN §10.6): later, on the loop.
  loop_.defer([s = std::shared_ptr<Slot>(std::move(s))] {});
}

void Scheduler::arm(Slot& s) {
  base::TimePoint planned = s.next_due;
  Slot* raw = &s;
  s.timer = loop_.at(planned, [this, raw, planned] {
    raw->timer = 0;
    on_due(*raw, planned);
  });
}

void Scheduler::on_due(Slot& s, base::TimePoint planned) {
  if (stopped_) return;
  // Plan the next run on the grid; if the loop fell behind by whole intervals, skip them
  // rather than firing a burst.
  base::TimePoint next = planned + s.check->interval;
  base::TimePoint now = base::Clock::now();
  while (next <= now) {
    next += s.check->interval;
    metrics_.count_skip(s.key.check);
  }
  s.next_due = next;
  arm(s);
  if (s.running || s.queued) {
    metrics_.count_skip(s.key.check);
    base::log_debug("run skipped: previous run still running",
                    {{"check", s.key.check}, {"target", s.key.target}});
    return;
  }
  if (inflight_ >= max_inflight_) {
    s.queued = true;
    waiting_.emplace_back(s.key, planned);
    return;
  }
  start_run(s, planned);
}

void Scheduler::start_run(Slot& s, base::TimePoint planned) {
  metrics_.observe_lag(base::Clock::now() - planned);
  ++inflight_;
  metrics_.set_inflight(inflight_);
  Slot* raw = &s;
  s.running = probes::Run::start(*s.probe, loop_, s.check->timeout, /*trace=*/false,
                                 [this, raw](probes::Result r) { on_done(*raw, std::move(r)); });
}

void Scheduler::on_done(Slot& s, probes::Result r) {
  --inflight_;
  metrics_.set_inflight(inflight_);
  // The Run is in its own finish(): destroy it later.
  loop_.defer([run = std::shared_ptr<probes::Run>(std::move(s.running))] {});
  for (auto* sink : sinks_) sink->on_result(*s.check, s.target, r);
  start_queued();
  // Not from here: this may be inside a library callback, and the drain's continuation
  // starts notification transfers.
  if (drained_ && inflight_ == 0) {
    loop_.defer([this] {
      if (drained_ && inflight_ == 0) finish_drain();
    });
  }
}

void Scheduler::start_queued() {
  while (!waiting_.empty() && inflight_ < max_inflight_ && !stopped_) {
    auto [key, planned] = waiting_.front();
    waiting_.pop_front();
    auto it = slots_.find(key);
    if (it == slots_.end() || !it->second->queued) continue;
    it->second->queued = false;
    start_run(*it->second, planned);
  }
}

void Scheduler::drain(base::Duration bound, std::function<void()> done) {
  if (stopped_) return;
  stopped_ = true;
  for (auto& [key, s] : slots_) {
    if (s->timer != 0) loop_.cancel(s->timer);
    s->timer = 0;
    s->queued = false;
  }
  waiting_.clear();
  drained_ = std::move(done);
  if (inflight_ == 0) {
    loop_.defer([this] { finish_drain(); });
    return;
  }
  base::log_info("waiting for running probes", {{"running", std::to_string(inflight_)}});
  drain_timer_ = loop_.after(bound, [this] {
    drain_timer_ = 0;
    base::log_warn("probes still running at the shutdown bound; abandoned",
                   {{"running", std::to_string(inflight_)}});
    finish_drain();
  });
}

void Scheduler::finish_drain() {
  if (!drained_) return;
  if (drain_timer_ != 0) loop_.cancel(drain_timer_);
  drain_timer_ = 0;
  auto done = std::move(drained_);
  drained_ = nullptr;
  stop();  // abandons whatever is left (only runs past the bound)
  done();
}

void Scheduler::stop() {
  stopped_ = true;
  drained_ = nullptr;
  if (drain_timer_ != 0) loop_.cancel(drain_timer_);
  drain_timer_ = 0;
  for (auto& [key, s] : slots_) {
    if (s->timer != 0) loop_.cancel(s->timer);
    s->timer = 0;
    if (s->running) {
      s->running->abandon();
      s->running.reset();
    }
  }
  inflight_ = 0;
  waiting_.clear();
}

}  // namespace probed::daemon
