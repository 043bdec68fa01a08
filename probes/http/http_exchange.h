// HttpExchange: one HTTP request of a run, as [checks.http] describes it, with its assertions.
// It resolves the host with c-ares, makes the request with HttpTransfer, follows redirects
// itself (only http/https, with a limit and loop detection, each hop resolved by c-ares), then
// evaluates the assertions. HttpProbe drives one per run; a journey drives one per step.
// Owned by its probe; lives across runs; loop thread only.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "probes/http/http_spec.h"
#include "probes/http/http_transfer.h"
#include "probes/probe.h"

namespace probed::probes {

// What varies between runs: HttpProbe sends its target with the spec's headers and body; a
// journey step renders them from its templates and shares a cookie jar between steps.
struct ExchangeRequest {
  std::string url;
  std::string display_url;  // the first request line of the trace; "" shows url
  config::StringMap headers;
  std::string body;
  bool need_body = false;     // keep the body even if no assertion reads it (extraction)
  // Trace lines show these values (extracted tokens) as their names (hide_values()).
  std::vector<std::pair<std::string, std::string>> hide;
  CURLSH* cookies = nullptr;  // a share handle with CURL_LOCK_DATA_COOKIE, or none
};

class HttpExchange {
 public:
  // Gets the Result (samples, phases, chain; success or the first failure) and the final
  // response when one was received (nullptr when the request failed before a response).
  using DoneFn = std::function<void(Result, const HttpResponse*)>;

  HttpExchange(std::shared_ptr<const HttpSpec> spec, Services& services);
  ~HttpExchange();
  HttpExchange(const HttpExchange&) = delete;
  HttpExchange& operator=(const HttpExchange&) = delete;

  // Starts the exchange within run (its deadline, its trace). done never runs from inside
  // start(), and never after cancel().
  void start(Run& run, ExchangeRequest req, DoneFn done);
  // The deadline passed: stops and returns what was seen so far, with a "timeout during ..."
  // message.
  Result on_deadline();
  void cancel();
  const HttpSpec& spec() const { return *spec_; }
  bool active() const { return run_ != nullptr; }

 private:
  struct Url {
    std::string scheme, host, port, full;
    bool ip_literal = false;
  };
  static base::Expected<Url> parse_url(const std::string& url);
  // parse_url, remembering the last URL: a check asks for the same first URL every run.
  base::Expected<Url> parsed(const std::string& url);
  void begin_hop(const std::string& url);
  void on_resolved(const Url& url, io::ResolveResult r);
  void send(const Url& url, const std::string& address);
  void on_transfer_done();
  bool follow_redirect(const HopOutcome& o);
  std::string resolve_location(const std::string& location) const;
  void fail_transfer(const HopOutcome& o);
  void finish_success(HopOutcome& o);
  void add_hop_phases(const HopOutcome& o);
  void add_common_samples(const HopOutcome& o);
  void finish(FailureReason reason, std::string message);
  void finish_deferred(FailureReason reason, std::string message);
  void complete(const HttpResponse* response);
  void defer(std::function<void()> fn);
  std::string where() const;
  // Callers build trace text only when tracing(): runs from the scheduler are not traced.
  bool tracing() const { return run_ != nullptr && run_->tracing(); }
  void trace(std::string text);

  std::shared_ptr<const HttpSpec> spec_;
  Services& services_;
  HttpTransfer transfer_;
  io::AresChannel* resolver_ = nullptr;
  io::AresChannel::QueryId query_ = 0;
  std::string parsed_text_;
  std::optional<base::Expected<Url>> parsed_;

  // Per run.
  Run* run_ = nullptr;
  ExchangeRequest req_;
  DoneFn done_;
  base::TimePoint started_;
  Result result_;
  std::string method_;
  std::string original_host_;
  std::string original_origin_;
  std::set<std::string> visited_;
  int redirects_ = 0;
  Duration dns_time_{};
  base::TimePoint phase_start_;
  std::string phase_ = "resolve";
  std::string current_;
  std::string pinned_proxy_;
  std::string tls_version_;
  uint64_t gen_ = 0;  // bumped by start() and cancel(): stale deferred work checks it
};

}  // namespace probed::probes
