#include "daemon/io/ares_channel.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <algorithm>
#include <mutex>

namespace probed::io {
namespace {

void library_init() {
  static std::once_flag once;
  std::call_once(once, [] { ares_library_init(ARES_LIB_INIT_ALL); });
}

std::string numeric(const sockaddr* sa) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (sa->sa_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, buf, sizeof buf);
  } else if (sa->sa_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, buf, sizeof buf);
  }
  return buf;
}

}  // namespace

base::Expected<std::unique_ptr<AresChannel>> AresChannel::create(Loop& loop,
                                                                  const AresOptions& opts) {
  library_init();
  std::unique_ptr<AresChannel> ch(new AresChannel(loop));
  ares_options o{};
  int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
  o.sock_state_cb = &AresChannel::on_sock_state;
  o.sock_state_cb_data = ch.get();
  o.timeout = opts.timeout_ms;
  o.tries = opts.tries;
  int flags = 0;
  if (opts.tcp) flags |= ARES_FLAG_USEVC;
  if (!opts.check_response) flags |= ARES_FLAG_NOCHECKRESP;
  if (!opts.recursion_desired) flags |= ARES_FLAG_NORECURSE;
  if (flags != 0) {
    o.flags = flags;
    mask |= ARES_OPT_FLAGS;
  }
  int rc = ares_init_options(&ch->channel_, &o, mask);
  if (rc != ARES_SUCCESS) return base::unexpected(std::string("ares_init: ") + ares_strerror(rc));
  if (!opts.servers.empty()) {
    rc = ares_set_servers_ports_csv(ch->channel_, opts.servers.c_str());
    if (rc != ARES_SUCCESS) {
      return base::unexpected("invalid DNS server '" + opts.servers + "': " + ares_strerror(rc));
    }
  }
  return ch;
}

AresChannel::~AresChannel() {
  pending_.clear();  // callbacks from ares_destroy find nothing to call
  if (timer_ != 0) loop_.cancel(timer_);
  if (channel_ != nullptr) ares_destroy(channel_);
}

AresChannel::Pending* AresChannel::track(QueryId id) {
  auto p = std::make_unique<Pending>();
  p->self = this;
  p->id = id;
  auto* raw = p.get();
  pending_.emplace(id, std::move(p));
  return raw;
}

AresChannel::QueryId AresChannel::resolve(const std::string& host, int family, ResolveFn fn) {
  QueryId id = next_id_++;
  Pending* p = track(id);
  p->resolve_fn = std::move(fn);
  ares_addrinfo_hints hints{};
  hints.ai_family = family;
  hints.ai_socktype = SOCK_STREAM;
  // The callback gets {self, id} copied by value: the Pending may be gone when it runs.
  auto* arg = new std::pair<AresChannel*, QueryId>(this, id);
  ares_getaddrinfo(channel_, host.c_str(), nullptr, &hints, &AresChannel::on_addrinfo, arg);
  rearm();
  return id;
}

AresChannel::QueryId AresChannel::query(const std::string& name, int dnsclass, int type,
                                        RawFn fn) {
  QueryId id = next_id_++;
  Pending* p = track(id);
  p->raw_fn = std::move(fn);
  auto* arg = new std::pair<AresChannel*, QueryId>(this, id);
  ares_query(channel_, name.c_str(), dnsclass, type, &AresChannel::on_raw, arg);
  rearm();
  return id;
}

void AresChannel::cancel(QueryId id) { pending_.erase(id); }

void AresChannel::cancel_all() {
  pending_.clear();
  ares_cancel(channel_);  // callbacks run now with ARES_ECANCELLED and find nothing pending
  rearm();
}

void AresChannel::on_addrinfo(void* arg, int status, int /*timeouts*/, ares_addrinfo* res) {
  auto* key = static_cast<std::pair<AresChannel*, QueryId>*>(arg);
  AresChannel* self = key->first;
  QueryId id = key->second;
  delete key;
  ResolveResult r;
  r.status = status;
  if (status != ARES_SUCCESS) {
    r.error = ares_strerror(status);
  } else if (res != nullptr) {
    for (auto* n = res->nodes; n != nullptr; n = n->ai_next) {
      std::string a = numeric(n->ai_addr);
      if (!a.empty() && std::find(r.addresses.begin(), r.addresses.end(), a) == r.addresses.end()) {
        r.addresses.push_back(a);
      }
    }
  }
  if (res != nullptr) ares_freeaddrinfo(res);
  if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED) return;
  // Deliver on the next iteration: c-ares may call back inside ares_getaddrinfo itself.
  self->loop_.defer([self, alive = std::weak_ptr<int>(self->alive_), id, r = std::move(r)]() mutable {
    if (alive.expired()) return;
    auto it = self->pending_.find(id);
    if (it == self->pending_.end()) return;
    auto fn = std::move(it->second->resolve_fn);
    self->pending_.erase(it);
    fn(std::move(r));
  });
}

void AresChannel::on_raw(void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen) {
  auto* key = static_cast<std::pair<AresChannel*, QueryId>*>(arg);
  AresChannel* self = key->first;
  QueryId id = key->second;
  delete key;
  if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED) return;
  std::vector<unsigned char> answer;
  if (abuf != nullptr && alen > 0) answer.assign(abuf, abuf + alen);
  self->loop_.defer([self, alive = std::weak_ptr<int>(self->alive_), id, status,
                     answer = std::move(answer)]() mutable {
    if (alive.expired()) return;
    auto it = self->pending_.find(id);
    if (it == self->pending_.end()) return;
    auto fn = std::move(it->second->raw_fn);
    self->pending_.erase(it);
    fn(status, std::move(answer));
  });
}

void AresChannel::on_sock_state(void* data, ares_socket_t fd, int readable, int writable) {
  auto* self = static_cast<AresChannel*>(data);
  if (readable == 0 && writable == 0) {
    self->loop_.unwatch(fd);
    return;
  }
  int type = 0;
  socklen_t len = sizeof type;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_STREAM) {
    self->used_tcp_ = true;
  }
  Interest in = readable && writable ? Interest::ReadWrite
                : readable           ? Interest::Read
                                     : Interest::Write;
  (void)self->loop_.watch(fd, in, [self, fd](uint32_t ev) {
    bool r = (ev & (kReadable | kError)) != 0;
    bool w = (ev & kWritable) != 0;
    self->process(r ? fd : ARES_SOCKET_BAD, w ? fd : ARES_SOCKET_BAD);
  });
}

void AresChannel::process(ares_socket_t rfd, ares_socket_t wfd) {
  ares_process_fd(channel_, rfd, wfd);
  rearm();
}

void AresChannel::rearm() {
  // Re-arm from ares_timeout after every call into c-ares (DESIGN §10.5).
  if (timer_ != 0) {
    loop_.cancel(timer_);
    timer_ = 0;
  }
  timeval tv{};
  if (ares_timeout(channel_, nullptr, &tv) == nullptr) return;
  auto d = std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec);
  timer_ = loop_.after(std::chrono::duration_cast<Duration>(d) + std::chrono::milliseconds(1),
                       [this] {
                         timer_ = 0;
                         process(ARES_SOCKET_BAD, ARES_SOCKET_BAD);
                       });
}

base::Expected<AresChannel*> AresPool::get(const AresOptions& opts) {
  auto it = channels_.find(opts);
  if (it != channels_.end()) return it->second.get();
  auto ch = AresChannel::create(loop_, opts);
  if (!ch) return base::unexpected(ch.error());
  auto* raw = ch->get();
  channels_.emplace(opts, std::move(*ch));
  return raw;
}

}  // namespace probed::io
