// CurlMulti: drives libcurl's multi_socket API from the Loop (curl's socket/timer/info_read
// recipe). Transfers are added with a completion callback; the callback runs on the loop,
// after curl_multi_remove_handle, never inside a curl callback, so it may free the easy handle
// or start new transfers. Loop thread only.
#pragma once

#include <curl/curl.h>

#include <functional>
#include <memory>
#include <unordered_map>
#include <utility>
#include <vector>

#include "daemon/base/expected.h"
#include "daemon/io/loop.h"

namespace probed::io {

class CurlMulti {
 public:
  using DoneFn = std::function<void(CURLcode)>;

  static base::Expected<std::unique_ptr<CurlMulti>> create(Loop& loop);
  ~CurlMulti();
  CurlMulti(const CurlMulti&) = delete;
  CurlMulti& operator=(const CurlMulti&) = delete;

  // Starts a configured transfer. `done` runs exactly once unless remove() is called first.
  base::Expected<void> add(CURL* easy, DoneFn done);
  // Stops a transfer early (timeout, cancel); its `done` never runs.
  void remove(CURL* easy);
  size_t active() const { return transfers_.size(); }

  // A pool of idle easy handles, as large as the recent concurrency: probes hand theirs back
  // between runs (an idle handle is about 18 KB) without paying curl_easy_init every run.
  CURL* acquire();
  void release(CURL* easy);  // reset and pooled, or freed when the pool is full

 private:
  explicit CurlMulti(Loop& loop) : loop_(loop) {}
  static int on_socket(CURL* easy, curl_socket_t s, int what, void* self, void* socketp);
  static int on_timer(CURLM* multi, long timeout_ms, void* self);
  void action(curl_socket_t s, int flags);
  void drain();
  base::Expected<void> watch(curl_socket_t s, Interest in);
  void kick_connecting();
  std::vector<std::pair<curl_socket_t, Interest>>::iterator find_connecting(curl_socket_t s);

  Loop& loop_;
  CURLM* multi_ = nullptr;
  TimerId timer_ = 0;
  // Sockets curl has just started to connect, not yet given to epoll, with the interest curl
  // wants for each. On loopback and nearby targets the connect is done before curl returns,
  // so curl is told once, later in the same loop iteration, that the socket may be writable
  // (curl checks that itself with poll()); only what it still waits for then goes to epoll.
  // That spares each probe an epoll_ctl(MOD) and a pass through epoll_wait.
  // Usually one or two entries, so a vector, not a map: no node allocated per probe.
  std::vector<std::pair<curl_socket_t, Interest>> connecting_;
  std::vector<curl_socket_t> kicked_;  // kick_connecting()'s list, its capacity kept
  TimerId kick_ = 0;
  std::unordered_map<CURL*, DoneFn> transfers_;
  std::vector<CURL*> idle_;
  static constexpr size_t kMaxIdle = 256;
};

}  // namespace probed::io
