// HttpPost: one outgoing HTTP(S) POST on the loop (alert deliveries). The host is resolved by
// c-ares and pinned with CURLOPT_RESOLVE, like every probe (DESIGN: libcurl's own resolver
// thread can freeze the loop); proxies from the environment are ignored. One deadline covers
// resolve, connect, TLS and the answer. Loop thread only; destroying it cancels the request.
#pragma once

#include <curl/curl.h>

#include <functional>
#include <string>
#include <vector>

#include "daemon/base/clock.h"
#include "daemon/io/ares_channel.h"
#include "daemon/io/curl_multi.h"
#include "daemon/io/loop.h"

namespace probed::io {

// A numeric IPv4 or IPv6 address (brackets allowed), which needs no resolving.
bool is_ip_literal(std::string host);

struct HttpAnswer {
  long status = 0;            // 0: no HTTP answer (error says why)
  std::string error;          // resolve, connect or timeout failure; empty on an HTTP answer
  base::Duration retry_after = base::Duration(-1);  // Retry-After, when the server sent one
  std::string body;           // the first bytes of the answer, for logs
};

class HttpPost {
 public:
  using DoneFn = std::function<void(HttpAnswer)>;

  HttpPost(Loop& loop, CurlMulti& curl, AresPool& ares) : loop_(loop), curl_(curl), ares_(ares) {}
  ~HttpPost() { cancel(); }
  HttpPost(const HttpPost&) = delete;
  HttpPost& operator=(const HttpPost&) = delete;

  // Starts the request; `done` runs once on the loop, never inside start(). headers are full
  // "Name: value" lines.
  void start(const std::string& url, std::string body, const std::vector<std::string>& headers,
             base::Duration timeout, DoneFn done);
  void cancel();
  bool active() const { return done_ != nullptr; }

 private:
  void on_resolved(ResolveResult r);
  void send(const std::string& pin);
  void finish(HttpAnswer a);
  static size_t on_header(char* data, size_t size, size_t n, void* self);
  static size_t on_body(char* data, size_t size, size_t n, void* self);

  Loop& loop_;
  CurlMulti& curl_;
  AresPool& ares_;
  DoneFn done_;
  std::string url_, host_, port_, body_;
  std::vector<std::string> header_lines_;
  base::TimePoint deadline_;
  CURL* easy_ = nullptr;
  curl_slist* headers_ = nullptr;
  curl_slist* resolve_ = nullptr;
  AresChannel* resolver_ = nullptr;
  AresChannel::QueryId query_ = 0;
  TimerId timer_ = 0;
  HttpAnswer answer_;
  char errbuf_[CURL_ERROR_SIZE] = {};
  uint64_t gen_ = 0;
};

}  // namespace probed::io
