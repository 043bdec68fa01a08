#include "probes/dns/dns_channel.h"

#include <sys/socket.h>

#include <mutex>

namespace probed::probes {
namespace {

constexpr int kClassIn = 1;  // ns_c_in

}  // namespace

// What c-ares hands back to on_reply: which channel, which query, and whether the channel is
// still there.
struct DnsChannel::Key {
  DnsChannel* self;
  uint64_t gen;
  std::weak_ptr<int> alive;
};

base::Expected<std::unique_ptr<DnsChannel>> DnsChannel::create(io::Loop& loop,
                                                               const io::AresOptions& opts) {
  static std::once_flag once;
  std::call_once(once, [] { ares_library_init(ARES_LIB_INIT_ALL); });  // refcounted in c-ares
  std::unique_ptr<DnsChannel> ch(new DnsChannel(loop));
  ares_options o{};
  int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS;
  o.sock_state_cb = &DnsChannel::on_sock_state;
  o.sock_state_cb_data = ch.get();
  o.timeout = opts.timeout_ms;
  o.tries = opts.tries;
  o.flags = ARES_FLAG_NOCHECKRESP;
  if (opts.tcp) o.flags |= ARES_FLAG_USEVC;
  if (!opts.recursion_desired) o.flags |= ARES_FLAG_NORECURSE;
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

DnsChannel::~DnsChannel() {
  alive_.reset();  // deliveries already deferred find nothing to call
  ++gen_;
  fn_ = nullptr;
  if (timer_ != 0) loop_.cancel(timer_);
  // Calls on_reply with ARES_EDESTRUCTION and on_sock_state(fd, 0, 0) for every socket.
  if (channel_ != nullptr) ares_destroy(channel_);
}

void DnsChannel::query(const std::string& name, int type, ReplyFn fn) {
  cancel();
  used_tcp_ = false;
  fn_ = std::move(fn);
  auto* key = new Key{this, gen_, alive_};
  ares_query(channel_, name.c_str(), kClassIn, type, &DnsChannel::on_reply, key);
  rearm();
}

void DnsChannel::cancel() {
  ++gen_;
  fn_ = nullptr;
  if (channel_ == nullptr) return;
  ares_cancel(channel_);  // on_reply runs now with ARES_ECANCELLED and a stale gen
  rearm();
}

void DnsChannel::on_reply(void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen) {
  std::unique_ptr<Key> key(static_cast<Key*>(arg));
  if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED || key->alive.expired()) return;
  DnsChannel* self = key->self;
  if (key->gen != self->gen_) return;
  std::vector<unsigned char> reply;
  if (abuf != nullptr && alen > 0) reply.assign(abuf, abuf + alen);
  // Deliver on the next iteration: c-ares may call back inside ares_query itself, and the
  // receiver may destroy this channel, which c-ares forbids inside its callbacks.
  self->loop_.defer(
      [self, alive = key->alive, gen = key->gen, status, reply = std::move(reply)]() mutable {
        if (alive.expired() || gen != self->gen_ || !self->fn_) return;
        ReplyFn fn = std::move(self->fn_);
        self->fn_ = nullptr;
        fn(status, std::move(reply));
      });
}

void DnsChannel::on_sock_state(void* data, ares_socket_t fd, int readable, int writable) {
  auto* self = static_cast<DnsChannel*>(data);
  if (readable == 0 && writable == 0) {
    self->loop_.unwatch(fd);
    return;
  }
  // c-ares asks to write a TCP socket for every query it sends over it, new connection or not.
  int type = 0;
  socklen_t len = sizeof type;
  if (writable != 0 && getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 &&
      type == SOCK_STREAM) {
    self->used_tcp_ = true;
  }
  io::Interest in = readable && writable ? io::Interest::ReadWrite
                    : readable           ? io::Interest::Read
                                         : io::Interest::Write;
  (void)self->loop_.watch(fd, in, [self, fd](uint32_t ev) {
    bool r = (ev & (io::kReadable | io::kError)) != 0;
    bool w = (ev & io::kWritable) != 0;
    self->process(r ? fd : ARES_SOCKET_BAD, w ? fd : ARES_SOCKET_BAD);
  });
}

void DnsChannel::process(ares_socket_t rfd, ares_socket_t wfd) {
  ares_process_fd(channel_, rfd, wfd);
  rearm();
}

void DnsChannel::rearm() {
  // Re-arm from ares_timeout after every call into c-ares (DESIGN §10.5).
  if (timer_ != 0) {
    loop_.cancel(timer_);
    timer_ = 0;
  }
  timeval tv{};
  if (ares_timeout(channel_, nullptr, &tv) == nullptr) return;
  auto d = std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec);
  timer_ = loop_.after(std::chrono::duration_cast<io::Duration>(d) + std::chrono::milliseconds(1),
                       [this] {
                         timer_ = 0;
                         process(ARES_SOCKET_BAD, ARES_SOCKET_BAD);
                       });
}

}  // namespace probed::probes
