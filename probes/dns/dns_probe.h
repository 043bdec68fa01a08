// DnsProbe: one (dns check, target). A run sends one query through the probe's own c-ares
// io::AresChannel, made with check_response = false so it sees SERVFAIL and REFUSED replies,
// reads the raw reply itself (header counts, rcode, every record in text form) and evaluates the
// DnsSpec assertions.
// Owned by the scheduler (or `probed probe`); loop thread only.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "daemon/io/ares_channel.h"
#include "probes/dns/dns_spec.h"
#include "probes/probe.h"

namespace probed::probes {

class DnsProbe : public Probe {
 public:
  // check_timeout sizes the c-ares retries so that they fit the run (see options_for()).
  DnsProbe(std::shared_ptr<const DnsSpec> spec, const std::string& target,
           base::Duration check_timeout, Services& services);
  ~DnsProbe() override;

  // Probe
  void start(Run& run) override;
  Result on_deadline() override;
  void cancel() override;

  // The c-ares channel options for a check (exposed for tests and docs).
  static io::AresOptions options_for(const DnsSpec& spec, base::Duration check_timeout);

 private:
  void on_reply(int status, std::vector<unsigned char> raw);
  void on_no_reply(int status);
  bool answers_question(const DnsReply& reply) const;
  void trace_reply(const DnsReply& reply, size_t bytes, Duration took);
  void conclude(int rcode, const std::vector<const DnsRecord*>& answers);
  void finish(FailureReason reason, std::string message);
  void finish_deferred(FailureReason reason, std::string message);

  std::shared_ptr<const DnsSpec> spec_;
  std::string name_;  // the name asked for, absolute ("www.example.com.")
  io::AresOptions options_;
  Services& services_;
  std::unique_ptr<io::AresChannel> channel_;  // made by the first run, kept for the next ones

  // Per run.
  Run* run_ = nullptr;
  Result result_;
  base::TimePoint sent_;
  uint64_t gen_ = 0;  // bumped by start() and cancel(): stale callbacks check it
};

std::unique_ptr<Probe> make_dns_probe(const config::CheckConfig& check,
                                      const config::Target& target, Services& services);

}  // namespace probed::probes
