#include "daemon/io/curl_multi.h"

#include <algorithm>

#include "daemon/base/log.h"

namespace probed::io {

base::Expected<std::unique_ptr<CurlMulti>> CurlMulti::create(Loop& loop) {
  std::unique_ptr<CurlMulti> m(new CurlMulti(loop));
  m->multi_ = curl_multi_init();
  if (m->multi_ == nullptr) return base::unexpected("curl_multi_init failed");
  curl_multi_setopt(m->multi_, CURLMOPT_SOCKETFUNCTION, &CurlMulti::on_socket);
  curl_multi_setopt(m->multi_, CURLMOPT_SOCKETDATA, m.get());
  curl_multi_setopt(m->multi_, CURLMOPT_TIMERFUNCTION, &CurlMulti::on_timer);
  curl_multi_setopt(m->multi_, CURLMOPT_TIMERDATA, m.get());
  // Every probe uses a fresh connection; a cache would only hold closed sockets.
  curl_multi_setopt(m->multi_, CURLMOPT_MAXCONNECTS, 16L);
  return m;
}

CurlMulti::~CurlMulti() {
  for (auto& [easy, fn] : transfers_) curl_multi_remove_handle(multi_, easy);
  transfers_.clear();
  for (CURL* e : idle_) curl_easy_cleanup(e);
  if (timer_ != 0) loop_.cancel(timer_);
  if (kick_ != 0) loop_.cancel(kick_);
  if (multi_ != nullptr) curl_multi_cleanup(multi_);
}

CURL* CurlMulti::acquire() {
  if (idle_.empty()) return curl_easy_init();
  CURL* e = idle_.back();
  idle_.pop_back();
  return e;
}

void CurlMulti::release(CURL* easy) {
  if (easy == nullptr) return;
  remove(easy);
  if (idle_.size() >= kMaxIdle) {
    curl_easy_cleanup(easy);
    return;
  }
  curl_easy_reset(easy);
  idle_.push_back(easy);
}

base::Expected<void> CurlMulti::add(CURL* easy, DoneFn done) {
  CURLMcode rc = curl_multi_add_handle(multi_, easy);
  if (rc != CURLM_OK) return base::unexpected(curl_multi_strerror(rc));
  transfers_[easy] = std::move(done);
  return {};
}

void CurlMulti::remove(CURL* easy) {
  if (transfers_.erase(easy) == 0) return;
  curl_multi_remove_handle(multi_, easy);
}

namespace {
// curl_multi_assign() tag of a socket in connecting_ (a watched socket carries the CurlMulti).
char connecting_tag;
}  // namespace

int CurlMulti::on_socket(CURL* /*easy*/, curl_socket_t s, int what, void* self, void* socketp) {
  auto* m = static_cast<CurlMulti*>(self);
  const bool connecting = socketp == &connecting_tag;
  if (what == CURL_POLL_REMOVE) {
    if (connecting) {
      if (auto it = m->find_connecting(s); it != m->connecting_.end()) m->connecting_.erase(it);
    } else {
      m->loop_.unwatch(s);  // curl forgets the socket and its socketp
    }
    return 0;
  }
  Interest in = what == CURL_POLL_IN    ? Interest::Read
                : what == CURL_POLL_OUT ? Interest::Write
                                        : Interest::ReadWrite;
  if (connecting) {
    if (auto it = m->find_connecting(s); it != m->connecting_.end()) it->second = in;
    return 0;
  }
  if (socketp == nullptr && what == CURL_POLL_OUT) {
    // A new socket waiting for its connect: see connecting_. Never call socket_action from
    // inside a curl callback: the kick is a 0 ms timer, run later in this iteration.
    m->connecting_.emplace_back(s, in);
    curl_multi_assign(m->multi_, s, &connecting_tag);
    if (m->kick_ == 0) m->kick_ = m->loop_.after(Duration::zero(), [m] { m->kick_connecting(); });
    return 0;
  }
  // socketp marks a socket the loop already watches: only its interest changes.
  auto ok = socketp != nullptr ? m->loop_.rewatch(s, in) : m->watch(s, in);
  if (!ok) base::log_warn("cannot watch curl socket", {{"error", ok.error()}});
  return 0;
}

base::Expected<void> CurlMulti::watch(curl_socket_t s, Interest in) {
  auto ok = loop_.watch(s, in, [this, s](uint32_t ev) {
    int flags = 0;
    if ((ev & kReadable) != 0) flags |= CURL_CSELECT_IN;
    if ((ev & kWritable) != 0) flags |= CURL_CSELECT_OUT;
    // The curl examples map only IN and OUT; errors must reach curl too (DESIGN §10.4).
    if ((ev & kError) != 0) flags |= CURL_CSELECT_ERR;
    action(s, flags);
  });
  if (ok) curl_multi_assign(multi_, s, this);
  return ok;
}

std::vector<std::pair<curl_socket_t, Interest>>::iterator CurlMulti::find_connecting(curl_socket_t s) {
  return std::find_if(connecting_.begin(), connecting_.end(),
                      [s](const auto& entry) { return entry.first == s; });
}

void CurlMulti::kick_connecting() {
  kick_ = 0;
  // Never re-entered: an action that opens a socket arms another kick, it does not run one.
  kicked_.clear();
  for (const auto& entry : connecting_) kicked_.push_back(entry.first);
  for (curl_socket_t s : kicked_) {
    if (find_connecting(s) != connecting_.end()) action(s, CURL_CSELECT_OUT);
  }
  // What curl still waits for goes to epoll. Sockets opened during these actions wait for
  // their own kick (already armed).
  for (curl_socket_t s : kicked_) {
    auto it = find_connecting(s);
    if (it == connecting_.end()) continue;  // closed, or connected and done
    Interest in = it->second;
    connecting_.erase(it);
    auto ok = watch(s, in);
    if (!ok) {
      base::log_warn("cannot watch curl socket", {{"error", ok.error()}});
      curl_multi_assign(multi_, s, nullptr);  // the next interest change tries again
    }
  }
}

int CurlMulti::on_timer(CURLM* /*multi*/, long timeout_ms, void* self) {
  auto* m = static_cast<CurlMulti*>(self);
  if (m->timer_ != 0) {
    m->loop_.cancel(m->timer_);
    m->timer_ = 0;
  }
  if (timeout_ms < 0) return 0;
  // Never call socket_action from inside a curl callback: a 0 ms timer becomes a timer that
  // fires on the next iteration (DESIGN §10.1).
  m->timer_ = m->loop_.after(std::chrono::milliseconds(timeout_ms), [m] {
    m->timer_ = 0;
    m->action(CURL_SOCKET_TIMEOUT, 0);
  });
  return 0;
}

void CurlMulti::action(curl_socket_t s, int flags) {
  int running = 0;
  curl_multi_socket_action(multi_, s, flags, &running);
  drain();
}

void CurlMulti::drain() {
  int left = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
    if (msg->msg != CURLMSG_DONE) continue;
    CURL* easy = msg->easy_handle;
    CURLcode code = msg->data.result;
    auto it = transfers_.find(easy);
    if (it == transfers_.end()) {
      curl_multi_remove_handle(multi_, easy);
      continue;
    }
    DoneFn fn = std::move(it->second);
    transfers_.erase(it);
    curl_multi_remove_handle(multi_, easy);
    fn(code);
  }
}

}  // namespace probed::io
