// HttpProbe: one (http check, target). A run resolves the host with c-ares, makes the request
// with HttpTransfer, follows redirects itself (only http/https, with a limit and loop
// detection, each hop resolved by c-ares), then evaluates the assertions. Loop thread only.
#pragma once

#include <memory>
#include <set>
#include <string>

#include "probes/http/http_spec.h"
#include "probes/http/http_transfer.h"
#include "probes/probe.h"

namespace probed::probes {

class HttpProbe : public Probe {
 public:
  HttpProbe(std::shared_ptr<const HttpSpec> spec, std::string url, Services& services);
  ~HttpProbe() override;

  // Probe
  void start(Run& run) override;
  Result on_deadline() override;
  void cancel() override;

 private:
  struct Url {
    std::string scheme, host, port, full;
    bool ip_literal = false;
  };
  static base::Expected<Url> parse_url(const std::string& url);
  void begin_hop(const std::string& url);
  void on_resolved(const Url& url, io::ResolveResult r);
  void send(const Url& url, const std::string& address);
  void on_transfer_done();
  bool follow_redirect(const HopOutcome& o);
  std::string resolve_location(const std::string& location) const;
  void fail_transfer(const HopOutcome& o);
  void finish_success(const HopOutcome& o);
  void add_hop_phases(const HopOutcome& o);
  void add_common_samples(const HopOutcome& o);
  void finish(FailureReason reason, std::string message);
  void finish_deferred(FailureReason reason, std::string message);
  void defer(std::function<void()> fn);
  std::string where() const;

  std::shared_ptr<const HttpSpec> spec_;
  std::string target_;
  Services& services_;
  HttpTransfer transfer_;
  io::AresChannel* resolver_ = nullptr;
  io::AresChannel::QueryId query_ = 0;

  // Per run.
  Run* run_ = nullptr;
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

std::unique_ptr<Probe> make_http_probe(const config::CheckConfig& check,
                                       const config::Target& target, Services& services);

}  // namespace probed::probes
