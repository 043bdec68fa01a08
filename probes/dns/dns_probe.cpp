#include "probes/dns/dns_probe.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cctype>
#include <cstdio>
#include <cstring>

#include "config/duration.h"
#include "probes/metric_names.h"

namespace probed::probes {
namespace {

using std::chrono::milliseconds;

// c-ares retransmits a UDP query after timeout_ms and doubles the wait on each later round
// (ares__send_query), so with one server and 3 tries it waits T + 2T + 4T = 7T in all.
// T = timeout / 4 makes the run's deadline (at 4T) the limit for ordinary timeouts while a
// lost datagram is still retried twice: timeout 10s -> T = 2s, retries at 2s and 6s. T is
// clamped so short checks still retransmit and long ones do not wait seconds per try.
constexpr milliseconds kMinTryTimeout{250};
constexpr milliseconds kMaxTryTimeout{2000};
constexpr int kTries = 3;
constexpr size_t kMaxTraceText = 200;

// The errno of a socket() tried now, 0 when one could be had.
int socket_errno_now() {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  ::close(fd);
  return 0;
}

std::string ms_text(Duration d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f ms", base::to_seconds(d) * 1000);
  return buf;
}

std::string plural(size_t n, const std::string& word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

}  // namespace

io::AresOptions DnsProbe::options_for(const DnsSpec& spec, base::Duration check_timeout) {
  io::AresOptions o;
  o.servers = spec.server;
  o.tcp = spec.tcp;
  o.recursion_desired = spec.recursion_desired;
  auto t = std::clamp(std::chrono::duration_cast<milliseconds>(check_timeout / 4), kMinTryTimeout,
                      kMaxTryTimeout);
  o.timeout_ms = static_cast<int>(t.count());
  o.tries = kTries;
  o.check_response = false;  // see SERVFAIL, NOTIMP and REFUSED replies (ares_channel.h)
  return o;
}

DnsProbe::DnsProbe(std::shared_ptr<const DnsSpec> spec, const std::string& target,
                   base::Duration check_timeout, Services& services)
    : spec_(std::move(spec)),
      name_(dns_query_name(target, spec_->record)),
      options_(options_for(*spec_, check_timeout)),
      services_(services) {}

DnsProbe::~DnsProbe() { cancel(); }

void DnsProbe::start(Run& run) {
  ++gen_;
  run_ = &run;
  result_ = Result{};
  run.trace("query " + name_ + " " + dns_type_name(spec_->record) + " IN to " +
            spec_->server_text() + " over " + (spec_->tcp ? "tcp" : "udp") +
            (spec_->recursion_desired ? ", recursion desired" : ", no recursion"));
  if (channel_ == nullptr) {
    auto ch = io::AresChannel::create(services_.loop, options_);
    if (!ch) return finish_deferred(FailureReason::Error, ch.error());
    channel_ = std::move(*ch);
  }
  sent_ = base::Clock::now();
  // One query at a time on this probe's own channel; replies come through loop.defer, never
  // inside query() itself.
  channel_->cancel_all();
  channel_->reset_used_tcp();
  channel_->query(name_, /*dnsclass=*/1, spec_->record,
                  [this, gen = gen_](int status, std::vector<unsigned char> raw) {
                    if (gen != gen_ || run_ == nullptr) return;
                    on_reply(status, std::move(raw));
                  });
}

bool DnsProbe::answers_question(const DnsReply& reply) const {
  std::string asked = name_ + " " + dns_type_name(spec_->record);
  return reply.question.size() == asked.size() &&
         std::equal(asked.begin(), asked.end(), reply.question.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) ==
                  std::tolower(static_cast<unsigned char>(b));
         });
}

void DnsProbe::on_reply(int status, std::vector<unsigned char> raw) {
  Duration took = base::Clock::now() - sent_;
  result_.add_phase("resolve", took);
  result_.add_sample(names::kDnsLookupTime, base::to_seconds(took));
  // The channel (check_response = false) hands over every reply, whatever status c-ares maps
  // its rcode to; the header, not the status, is what we report.
  if (raw.empty()) return on_no_reply(status);
  auto reply = parse_dns_reply(raw);
  if (!reply) {
    return finish(FailureReason::Dns,
                  "malformed reply from " + spec_->server_text() + ": " + reply.error());
  }
  // c-ares 1.18 drops a reply to another question itself (measured), but its manual says
  // ARES_FLAG_NOCHECKRESP turns that check off, so do not rely on it.
  if (!answers_question(*reply)) {
    return finish(FailureReason::Dns, "reply from " + spec_->server_text() + " is for \"" +
                                          reply->question + "\", not for \"" + name_ + " " +
                                          dns_type_name(spec_->record) + "\"");
  }
  result_.add_sample(names::kDnsRcode, reply->rcode);
  result_.add_sample(names::kDnsAnswerRrs, reply->ancount);
  result_.add_sample(names::kDnsAuthorityRrs, reply->nscount);
  result_.add_sample(names::kDnsAdditionalRrs, reply->arcount);
  trace_reply(*reply, raw.size(), took);
  // The answers are the records of the asked-for type; a CNAME chain that leads to them is
  // counted in probe_dns_answer_rrs and traced, but is not itself an answer (unless CNAME
  // was asked for).
  std::vector<const DnsRecord*> answers;
  for (const auto& rr : reply->answer) {
    if (rr.type != spec_->record || rr.rclass != kClassIn) continue;
    answers.push_back(&rr);
    // Like blackbox's probe_dns_serial: the zone's serial, from an SOA query's (first) answer.
    if (rr.soa_serial && answers.size() == 1) {
      result_.add_sample(names::kDnsSerial, *rr.soa_serial);
    }
  }
  conclude(reply->rcode, answers);
}

void DnsProbe::trace_reply(const DnsReply& reply, size_t bytes, Duration took) {
  if (!run_->tracing()) return;
  run_->trace("reply " + dns_rcode_name(reply.rcode) + ", id " + std::to_string(reply.id) +
              ", flags " + reply.flags_text() + ", " + std::to_string(bytes) + " bytes (" +
              ms_text(took) + ")");
  // c-ares asks again over TCP after a truncated (TC) UDP reply, or one over 512 bytes.
  if (!spec_->tcp && channel_->used_tcp()) {
    run_->trace("reply came over tcp after a truncated udp reply");
  }
  run_->trace("sections: answer " + std::to_string(reply.ancount) + ", authority " +
              std::to_string(reply.nscount) + ", additional " + std::to_string(reply.arcount));
  const std::pair<const char*, const std::vector<DnsRecord>*> sections[] = {
      {"answer", &reply.answer},
      {"authority", &reply.authority},
      {"additional", &reply.additional}};
  for (const auto& [label, records] : sections) {
    for (const auto& rr : *records) {
      // Long data (a DKIM key, a padded TXT) is cut in the trace; assertions see all of it.
      std::string text = rr.text.size() <= kMaxTraceText
                             ? rr.text
                             : rr.text.substr(0, kMaxTraceText) + "... (" +
                                   std::to_string(rr.text.size()) + " characters)";
      run_->trace(std::string(label) + ": " + rr.name + " " + std::to_string(rr.ttl) + " " +
                  dns_type_name(rr.type) + " " + text);
    }
  }
}

void DnsProbe::on_no_reply(int status) {
  const std::string server = spec_->server_text();
  switch (status) {
    case ARES_ETIMEOUT:
      return finish(FailureReason::Timeout,
                    "no answer from " + server + " after " + std::to_string(options_.tries) +
                        " tries (" +
                        config::format_duration(
                            std::chrono::round<std::chrono::seconds>(base::Clock::now() - sent_)) +
                        ")");
    case ARES_ECONNREFUSED:
      // c-ares reports a socket() that failed like a refused connection and keeps no errno.
      // Out of fds, a socket() tried now fails too: say so rather than blame the server.
      if (int e = socket_errno_now(); e == EMFILE || e == ENFILE) {
        return finish(FailureReason::Error, std::string("out of file descriptors (") +
                                                std::strerror(e) +
                                                "): raise LimitNOFILE or lower max_inflight");
      }
      return finish(FailureReason::Dns,
                    "no answer from " + server + ": connection refused (is a DNS server there?)");
    case ARES_ECANCELLED:
    case ARES_ENOMEM:
      return finish(FailureReason::Error, std::string("dns query: ") + ares_strerror(status));
    default:
      return finish(FailureReason::Dns, "query to " + server + " failed: " + ares_strerror(status));
  }
}

void DnsProbe::conclude(int rcode, const std::vector<const DnsRecord*>& answers) {
  result_.success = true;
  std::vector<std::string> verdicts;
  spec_->evaluate(rcode, answers, result_, run_->tracing() ? &verdicts : nullptr);
  for (auto& v : verdicts) run_->trace(std::move(v));
  if (result_.success) {
    result_.message = dns_rcode_name(rcode) + ", " +
                      plural(answers.size(), dns_type_name(spec_->record) + " answer");
  }
  Run* run = run_;
  run_ = nullptr;
  run->finish(std::move(result_));
}

void DnsProbe::finish(FailureReason reason, std::string message) {
  if (run_ == nullptr) return;
  result_.fail_with(reason, std::move(message));
  Run* run = run_;
  run_ = nullptr;
  run->finish(std::move(result_));
}

void DnsProbe::finish_deferred(FailureReason reason, std::string message) {
  services_.loop.defer([this, gen = gen_, reason, message = std::move(message)]() mutable {
    // Dropped if the run was cancelled; the scheduler destroys probes through loop.defer too,
    // queued after this, so `this` is still alive here.
    if (gen == gen_) finish(reason, std::move(message));
  });
}

Result DnsProbe::on_deadline() {
  std::string msg = "no answer from " + spec_->server_text() + " within " +
                    config::format_duration(run_ != nullptr ? run_->deadline() - run_->started()
                                                            : Duration::zero());
  cancel();
  Result r = std::move(result_);
  r.message = std::move(msg);
  return r;
}

void DnsProbe::cancel() {
  ++gen_;
  if (channel_ != nullptr) channel_->cancel_all();  // c-ares stops retrying; a late reply is dropped
  run_ = nullptr;
}

std::unique_ptr<Probe> make_dns_probe(const config::CheckConfig& check,
                                      const config::Target& target, Services& services) {
  return std::make_unique<DnsProbe>(std::static_pointer_cast<const DnsSpec>(check.spec),
                                    target.address, check.timeout, services);
}

}  // namespace probed::probes
