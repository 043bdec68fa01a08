// DnsChannel: the c-ares channel of one dns probe, driven by the Loop with the same recipe as
// io::AresChannel (sock_state_cb -> watch/unwatch, ares_process_fd on events, the timer re-armed
// from ares_timeout after every call), but created with ARES_FLAG_NOCHECKRESP. Without it c-ares
// 1.18 drops SERVFAIL, NOTIMP and REFUSED replies and ends the query with ARES_ECONNREFUSED and no
// bytes (measured: the same status as a port nobody listens on), so the check could neither
// report those rcodes nor accept them in valid_rcodes; io::AresOptions has no switch for the
// flag. One query at a time. Owned by its DnsProbe; loop thread only.
#pragma once

#include <ares.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "daemon/base/expected.h"
#include "daemon/io/ares_channel.h"
#include "daemon/io/loop.h"

namespace probed::probes {

class DnsChannel {
 public:
  // status: ARES_SUCCESS, ARES_ENODATA, ARES_ENOTFOUND, ARES_ESERVFAIL, ... (then reply holds the
  // whole message), or ARES_ETIMEOUT, ARES_ECONNREFUSED, ... (then reply is empty).
  using ReplyFn = std::function<void(int status, std::vector<unsigned char> reply)>;

  // opts.servers, tcp, recursion_desired, timeout_ms and tries mean what they mean for AresPool.
  static base::Expected<std::unique_ptr<DnsChannel>> create(io::Loop& loop,
                                                            const io::AresOptions& opts);
  ~DnsChannel();
  DnsChannel(const DnsChannel&) = delete;
  DnsChannel& operator=(const DnsChannel&) = delete;

  // Sends one class-IN query (a pending one is cancelled first). fn runs through loop.defer,
  // never inside query() or inside c-ares.
  void query(const std::string& name, int type, ReplyFn fn);
  // The pending query is dropped (c-ares stops retrying it); its fn never runs. Must not be
  // called from inside a c-ares callback (ours only defer, so it never is).
  void cancel();
  // Whether the current (or last) query went over TCP: always with tcp, or after a truncated
  // UDP reply (c-ares switches on its own and does not say so; its sockets tell).
  bool used_tcp() const { return used_tcp_; }

 private:
  explicit DnsChannel(io::Loop& loop) : loop_(loop) {}
  struct Key;
  static void on_reply(void* arg, int status, int timeouts, unsigned char* abuf, int alen);
  static void on_sock_state(void* self, ares_socket_t fd, int readable, int writable);
  void process(ares_socket_t rfd, ares_socket_t wfd);
  void rearm();

  io::Loop& loop_;
  ares_channel channel_ = nullptr;
  io::TimerId timer_ = 0;
  uint64_t gen_ = 0;  // bumped by query() and cancel(): stale replies check it
  bool used_tcp_ = false;
  ReplyFn fn_;
  // Deferred deliveries hold a weak_ptr to it: the channel may be gone when they run.
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace probed::probes
