#include "exporters/status/status_store.h"

#include <algorithm>

#include "daemon/base/redact.h"

namespace probed::exporters {

void RunHistory::push(bool success, double seconds) {
  seconds_[head_] = static_cast<float>(seconds);
  if (success) ok_bits_ |= (1U << head_);
  else ok_bits_ &= ~(1U << head_);
  head_ = static_cast<uint8_t>((head_ + 1) % kSize);
  if (count_ < kSize) ++count_;
}

std::string_view to_string(CheckState s) {
  switch (s) {
    case CheckState::Pending: return "pending";
    case CheckState::Up: return "up";
    case CheckState::Down: return "down";
  }
  return "pending";
}

namespace {

// Only what the certificate table shows: SANs, serials and fingerprints stay out of memory.
std::shared_ptr<const std::vector<probes::CertInfo>> slim_chain(
    const std::vector<probes::CertInfo>& chain) {
  auto out = std::make_shared<std::vector<probes::CertInfo>>();
  out->reserve(chain.size());
  for (const auto& c : chain) {
    probes::CertInfo s;
    s.subject = c.subject;
    s.issuer = c.issuer;
    s.not_before = c.not_before;
    s.not_after = c.not_after;
    s.source = c.source;
    out->push_back(std::move(s));
  }
  return out;
}

StatusRow new_row(const config::CheckConfig& check, const config::Target& target) {
  StatusRow row;
  row.check = check.name;
  row.type = check.type;
  row.target = base::redact(target.address);
  if (check.spec) row.cert_thresholds = check.spec->cert_thresholds(target.address);
  return row;
}

int state_rank(CheckState s) {
  return s == CheckState::Down ? 0 : s == CheckState::Pending ? 1 : 2;
}

}  // namespace

StatusStore::RowPtr StatusStore::find(CheckKeyRef key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = rows_.find(key);
  return it == rows_.end() ? nullptr : it->second;
}

void StatusStore::put(CheckKeyRef key, RowPtr row) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = rows_.find(key);
  if (!row) {
    if (it != rows_.end()) rows_.erase(it);
    dirty_ = true;
  } else {
    set_locked(it, key, std::move(row));
  }
}

void StatusStore::set_locked(CheckKeyMap<RowPtr>::iterator it, CheckKeyRef key, RowPtr row) {
  if (it != rows_.end()) it->second = std::move(row);
  else rows_.emplace(key.to_key(), std::move(row));
  dirty_ = true;
}

void StatusStore::on_added(const config::CheckConfig& check, const config::Target& target) {
  const CheckKeyRef key{check.name, target.address};
  if (find(key)) return;  // kept across reloads
  put(key, std::make_shared<const StatusRow>(new_row(check, target)));
}

void StatusStore::on_result(const config::CheckConfig& check, const config::Target& target,
                            const probes::Result& r) {
  // What does not depend on the old row is built before taking the lock.
  // A changed check (reload) may have new thresholds: take them from the config each time.
  std::optional<config::ProbeSpec::CertThresholds> thresholds;
  if (check.spec) thresholds = check.spec->cert_thresholds(target.address);
  std::shared_ptr<const std::vector<probes::CertInfo>> chain;
  if (thresholds) chain = slim_chain(r.chain);
  std::string message = base::redact(r.message);
  const double seconds = base::to_seconds(r.duration);
  const CheckKeyRef key{check.name, target.address};
  std::lock_guard<std::mutex> lock(mu_);
  auto it = rows_.find(key);
  StatusRow row = it != rows_.end() ? *it->second : new_row(check, target);
  row.cert_thresholds = std::move(thresholds);
  row.state = r.success ? CheckState::Up : CheckState::Down;
  row.reason = r.success ? "" : std::string(probes::to_label(r.reason));
  row.message = std::move(message);
  row.duration_s = seconds;
  row.last_run_unix = base::unix_now();
  ++row.runs;
  row.consecutive_failures = r.success ? 0 : row.consecutive_failures + 1;
  row.history.push(r.success, seconds);
  if (row.cert_thresholds) row.chain = std::move(chain);
  set_locked(it, key, std::make_shared<const StatusRow>(std::move(row)));
}

void StatusStore::on_removed(const CheckKey& key) { put(key, nullptr); }

void StatusStore::set_alert(const CheckKey& key, std::string state) {
  RowPtr old = find(key);
  if (!old || old->alert == state) return;
  auto row = std::make_shared<StatusRow>(*old);
  row->alert = std::move(state);
  put(key, std::move(row));
}

std::shared_ptr<const StatusSnapshot> StatusStore::snapshot() const {
  std::lock_guard<std::mutex> lock(snap_mu_);
  auto now = base::Clock::now();
  bool dirty;
  {
    std::lock_guard<std::mutex> rows_lock(mu_);
    dirty = dirty_;
  }
  auto age = now - cache_time_;
  if (cache_ && age < kMaxStaleAge && (!dirty || age < kMaxAge)) return cache_;
  cache_ = build();
  cache_time_ = now;
  return cache_;
}

std::shared_ptr<const StatusSnapshot> StatusStore::build() const {
  auto snap = std::make_shared<StatusSnapshot>();
  {
    std::lock_guard<std::mutex> lock(mu_);
    snap->checks.reserve(rows_.size());
    for (const auto& [key, row] : rows_) snap->checks.push_back(row);
    dirty_ = false;
  }
  // Outside the lock: the rows are immutable.
  snap->generated_unix = base::unix_now();
  snap->location = location_;
  std::stable_sort(snap->checks.begin(), snap->checks.end(), [](const RowPtr& a, const RowPtr& b) {
    return state_rank(a->state) < state_rank(b->state);  // rows_ is already by name
  });
  for (const auto& row : snap->checks) {
    (row->state == CheckState::Down ? snap->down
     : row->state == CheckState::Up ? snap->up : snap->pending)++;
    if (row->cert_thresholds && row->runs > 0) {
      append_cert_rows(row->check, row->target, row->chain ? *row->chain : std::vector<probes::CertInfo>{},
                       row->message, *row->cert_thresholds, snap->generated_unix, snap->certs);
    }
  }
  sort_cert_rows(snap->certs);
  return snap;
}

}  // namespace probed::exporters
