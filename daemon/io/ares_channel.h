// AresChannel: one c-ares channel driven by the Loop (sock_state_cb -> watch/unwatch,
// ares_process_fd on events, the timer re-armed from ares_timeout after every call). All
// results are delivered through loop.defer, never inside the caller. AresPool keeps one channel
// per (servers, protocol, recursion) so checks that share a resolver share a channel.
// Loop thread only.
#pragma once

#include <ares.h>

#include <functional>
#include <map>
#include <tuple>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "daemon/base/expected.h"
#include "daemon/io/loop.h"

namespace probed::io {

struct AresOptions {
  std::string servers;  // "" = the system resolvers; else "127.0.0.1:5353,[::1]:53"
  bool tcp = false;
  bool recursion_desired = true;
  int timeout_ms = 1000;  // per try; c-ares doubles it on later rounds
  int tries = 3;
  // false: hand over SERVFAIL, NOTIMP and REFUSED replies (ARES_FLAG_NOCHECKRESP). c-ares 1.18
  // otherwise drops them and ends the query with ARES_ECONNREFUSED and no bytes, the same as a
  // port nobody listens on; the dns probe must report those rcodes.
  bool check_response = true;
  bool operator<(const AresOptions& o) const {
    return std::tie(servers, tcp, recursion_desired, timeout_ms, tries, check_response) <
           std::tie(o.servers, o.tcp, o.recursion_desired, o.timeout_ms, o.tries, o.check_response);
  }
};

struct ResolveResult {
  int status = ARES_SUCCESS;    // ARES_ENOTFOUND, ARES_ETIMEOUT, ...
  std::string error;            // ares_strerror text when status != ARES_SUCCESS
  std::vector<std::string> addresses;  // numeric, in the order to try
};

class AresChannel {
 public:
  using QueryId = uint64_t;
  using ResolveFn = std::function<void(ResolveResult)>;
  using RawFn = std::function<void(int status, std::vector<unsigned char> answer)>;

  static base::Expected<std::unique_ptr<AresChannel>> create(Loop& loop, const AresOptions& opts);
  ~AresChannel();
  AresChannel(const AresChannel&) = delete;
  AresChannel& operator=(const AresChannel&) = delete;

  // Resolves a host name; family AF_INET, AF_INET6 or AF_UNSPEC.
  QueryId resolve(const std::string& host, int family, ResolveFn fn);
  // Sends a raw DNS query (dns probe): name, class, type; the answer is the raw reply.
  QueryId query(const std::string& name, int dnsclass, int type, RawFn fn);
  // The callback of this query never runs (c-ares has no per-query cancel: its answer is
  // dropped when it comes).
  void cancel(QueryId id);
  // Drops every pending query (c-ares stops retrying them); their callbacks never run. For a
  // channel owned by one probe, not for AresPool's shared ones.
  void cancel_all();
  size_t pending() const { return pending_.size(); }
  // Whether a TCP socket was used since reset_used_tcp(): always with tcp, or after c-ares
  // retried a truncated UDP reply over TCP (it does not say so; its sockets tell).
  bool used_tcp() const { return used_tcp_; }
  void reset_used_tcp() { used_tcp_ = false; }

 private:
  AresChannel(Loop& loop) : loop_(loop) {}
  static void on_sock_state(void* self, ares_socket_t fd, int readable, int writable);
  static void on_addrinfo(void* arg, int status, int timeouts, struct ares_addrinfo* res);
  static void on_raw(void* arg, int status, int timeouts, unsigned char* abuf, int alen);
  void process(ares_socket_t rfd, ares_socket_t wfd);
  void rearm();
  struct Pending;
  Pending* track(QueryId id);

  Loop& loop_;
  ares_channel channel_ = nullptr;
  TimerId timer_ = 0;
  QueryId next_id_ = 1;
  bool used_tcp_ = false;
  // Deferred deliveries hold a weak_ptr to it: a probe's own channel may be gone when they run.
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
  struct Pending {
    AresChannel* self;
    QueryId id;
    ResolveFn resolve_fn;
    RawFn raw_fn;
  };
  std::unordered_map<QueryId, std::unique_ptr<Pending>> pending_;
};

class AresPool {
 public:
  explicit AresPool(Loop& loop) : loop_(loop) {}
  base::Expected<AresChannel*> get(const AresOptions& opts);

 private:
  Loop& loop_;
  std::map<AresOptions, std::unique_ptr<AresChannel>> channels_;
};

}  // namespace probed::io
