// ConversationSpec and ConversationProbe: the tcp and tls check types are one machine. A run
// resolves the host (c-ares), connects, optionally talks STARTTLS (smtp, imap, pop3, ftp,
// postgres), optionally does a TLS handshake, then plays the user's send/expect steps.
// tcp = connect [+ starttls] [+ tls] [+ conversation]; tls = connect [+ starttls] + tls.
// Specs are immutable after config load; probes run on the loop thread.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/reader.h"
#include "probes/assertions/regex.h"
#include "probes/probe.h"
#include "probes/tcp/tcp_connection.h"
#include "probes/tls_context.h"

namespace probed::probes {

struct ConversationStep {
  enum class Kind { Send, Expect, Tls };
  Kind kind;
  std::string data;          // Send
  std::optional<Regex> re;   // Expect
  bool starttls = false;     // part of the STARTTLS exchange (its failures are reason tls)
};

struct ConversationSpec : config::ProbeSpec {
  std::vector<ConversationStep> steps;  // starttls exchange, tls handshake, user steps
  bool tls = false;
  TlsOptions tls_options;
  SslCtxPtr ssl_ctx;           // set when tls
  size_t max_read_bytes = 64 * 1024;
  bool is_tls_type = false;    // type = "tls": a handshake check

  std::optional<CertThresholds> cert_thresholds(std::string_view) const override {
    if (!tls) return std::nullopt;
    return CertThresholds{tls_options.cert_warning, tls_options.cert_critical};
  }
};

// The STARTTLS exchange of a protocol; false for an unknown name.
bool starttls_steps(const std::string& protocol, std::vector<ConversationStep>& out);
// Reads starttls and the TLS keys shared by [checks.tcp] and [checks.tls] into spec.
bool read_tls_part(config::TableReader& t, ConversationSpec& spec, bool tls_wanted);
// "host:port" with a port; IPv6 as "[::1]:443".
std::optional<std::string> check_host_port(std::string_view target);

class ConversationProbe : public Probe {
 public:
  ConversationProbe(std::shared_ptr<const ConversationSpec> spec, std::string target,
                    Services& services);
  ~ConversationProbe() override { cancel(); }
  // Probe
  void start(Run& run) override;
  Result on_deadline() override;
  void cancel() override;

 private:
  void on_resolved(io::ResolveResult r);
  void on_connected(std::string err);
  void next_step();
  void on_step_done(std::string err, std::string data);
  void finish(FailureReason reason, std::string message);
  void confirm_without_client_cert();

  std::shared_ptr<const ConversationSpec> spec_;
  std::string target_, host_;
  int port_ = 0;
  Services& services_;
  TcpConnection conn_;
  io::AresChannel* resolver_ = nullptr;
  io::AresChannel::QueryId query_ = 0;
  Run* run_ = nullptr;
  Result result_;
  TlsObservation obs_;
  size_t step_ = 0;
  base::TimePoint phase_start_;
  std::string address_;
  io::TimerId grace_timer_ = 0;
  static constexpr auto kClientAuthGrace = std::chrono::milliseconds(200);
};

std::unique_ptr<Probe> make_conversation_probe(const config::CheckConfig& check,
                                               const config::Target& target, Services& services);

}  // namespace probed::probes
