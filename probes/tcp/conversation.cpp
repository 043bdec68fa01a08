#include "probes/tcp/conversation.h"

#include <arpa/inet.h>

#include "config/duration.h"
#include "probes/metric_names.h"
#include "probes/tcp/expect.h"
#include "probes/tls_inspect.h"

namespace probed::probes {
namespace {

ConversationStep send_step(std::string data, bool starttls = true) {
  return {ConversationStep::Kind::Send, std::move(data), std::nullopt, starttls};
}
ConversationStep expect_step(const char* pattern, bool starttls = true) {
  return {ConversationStep::Kind::Expect, "", *Regex::compile(pattern), starttls};
}

std::string ms_text(base::Duration d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f ms", base::to_seconds(d) * 1000);
  return buf;
}

}  // namespace

bool starttls_steps(const std::string& p, std::vector<ConversationStep>& out) {
  // Each exchange reads the greeting, asks for TLS, and waits for the go-ahead.
  if (p == "smtp") {
    out = {expect_step("(?m)^220 "), send_step("EHLO probed\r\n"), expect_step("(?m)^250 "),
           send_step("STARTTLS\r\n"), expect_step("(?m)^220 ")};
  } else if (p == "imap") {
    out = {expect_step("(?m)^\\* OK"), send_step("a001 STARTTLS\r\n"), expect_step("(?m)^a001 OK")};
  } else if (p == "pop3") {
    out = {expect_step("^\\+OK"), send_step("STLS\r\n"), expect_step("(?m)^\\+OK")};
  } else if (p == "ftp") {
    out = {expect_step("(?m)^220 "), send_step("AUTH TLS\r\n"), expect_step("(?m)^234 ")};
  } else if (p == "postgres") {
    // SSLRequest: length 8, code 80877103; the server answers one byte, 'S' for yes.
    out = {send_step(std::string("\x00\x00\x00\x08\x04\xd2\x16\x2f", 8)), expect_step("^S")};
  } else {
    return false;
  }
  return true;
}

std::optional<std::string> check_host_port(std::string_view target) {
  std::string t(target);
  size_t colon = t.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 >= t.size()) {
    return "target \"" + t + "\" must be HOST:PORT (\"[::1]:443\" for IPv6)";
  }
  std::string host = t.substr(0, colon);
  if (host.find(':') != std::string::npos && (host.front() != '[' || host.back() != ']')) {
    return "target \"" + t + "\": write IPv6 addresses in brackets, as \"[::1]:443\"";
  }
  for (size_t i = colon + 1; i < t.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(t[i]))) return "target \"" + t + "\": bad port";
  }
  int port = std::stoi(t.substr(colon + 1, 6));
  if (port < 1 || port > 65535) return "target \"" + t + "\": port must be 1-65535";
  return std::nullopt;
}

bool read_tls_part(config::TableReader& t, ConversationSpec& spec, bool tls_wanted) {
  size_t before = t.diags().size();
  spec.tls_options.read(t);
  if (auto s = t.string("starttls"); s && !s->empty()) {
    std::vector<ConversationStep> steps;
    if (!starttls_steps(*s, steps)) {
      t.error_at("starttls", "'starttls' must be one of smtp, imap, pop3, ftp, postgres (or \"\")");
    }
    spec.steps = std::move(steps);
    tls_wanted = true;
  }
  spec.tls = tls_wanted;
  if (spec.tls) {
    spec.steps.push_back({ConversationStep::Kind::Tls, "", std::nullopt, false});
    if (t.diags().size() == before) {
      auto ctx = tls_client_context(spec.tls_options);
      if (!ctx) t.error_here(ctx.error());
      else spec.ssl_ctx = *ctx;
    }
  }
  return t.diags().size() == before;
}

ConversationProbe::ConversationProbe(std::shared_ptr<const ConversationSpec> spec,
                                     std::string target, Services& services)
    : spec_(std::move(spec)), target_(std::move(target)), services_(services),
      conn_(services.loop) {
  size_t colon = target_.rfind(':');
  host_ = target_.substr(0, colon);
  if (host_.size() > 2 && host_.front() == '[') host_ = host_.substr(1, host_.size() - 2);
  port_ = std::stoi(target_.substr(colon + 1));
}

void ConversationProbe::start(Run& run) {
  run_ = &run;
  result_ = Result{};
  obs_ = TlsObservation{};
  obs_.insecure = spec_->tls_options.insecure_skip_verify;
  step_ = 0;
  phase_start_ = base::Clock::now();
  unsigned char buf[16];
  if (inet_pton(AF_INET, host_.c_str(), buf) == 1 || inet_pton(AF_INET6, host_.c_str(), buf) == 1) {
    address_ = host_;
    conn_.connect(address_, port_, [this](std::string e) { on_connected(std::move(e)); });
    return;
  }
  auto ch = services_.ares.get({});
  if (!ch) {
    services_.loop.defer([this, err = ch.error()] { finish(FailureReason::Error, err); });
    return;
  }
  resolver_ = *ch;
  query_ = resolver_->resolve(host_, AF_UNSPEC, [this](io::ResolveResult r) {
    query_ = 0;
    on_resolved(std::move(r));
  });
}

void ConversationProbe::on_resolved(io::ResolveResult r) {
  auto took = base::Clock::now() - phase_start_;
  result_.add_phase("resolve", took);
  result_.add_sample(names::kDnsLookupTime, base::to_seconds(took));
  if (r.status != ARES_SUCCESS || r.addresses.empty()) {
    return finish(FailureReason::Dns, "resolve " + host_ + ": " + (r.error.empty() ? "no addresses" : r.error));
  }
  address_ = r.addresses[0];
  for (const auto& a : r.addresses) {  // prefer IPv4, like the http probe and blackbox
    if (a.find(':') == std::string::npos) {
      address_ = a;
      break;
    }
  }
  run_->trace("resolve " + host_ + " -> " + address_ + " (" + ms_text(took) + ")");
  phase_start_ = base::Clock::now();
  conn_.connect(address_, port_, [this](std::string e) { on_connected(std::move(e)); });
}

void ConversationProbe::on_connected(std::string err) {
  auto took = base::Clock::now() - phase_start_;
  result_.add_phase("connect", took);
  if (!err.empty()) {
    int e = conn_.errno_at_socket();
    if (e == EMFILE || e == ENFILE) {
      return finish(FailureReason::Error,
                    "out of file descriptors (" + err + "): raise LimitNOFILE or lower max_inflight");
    }
    return finish(FailureReason::Connect, "connect " + address_ + ":" + std::to_string(port_) + ": " + err);
  }
  run_->trace("connect " + address_ + ":" + std::to_string(port_) + " (" + ms_text(took) + ")");
  next_step();
}

void ConversationProbe::next_step() {
  if (step_ >= spec_->steps.size()) {
    result_.success = true;
    result_.message = spec_->tls ? "handshake ok" : "connected";
    return finish(FailureReason::None, result_.message);
  }
  const auto& s = spec_->steps[step_];
  phase_start_ = base::Clock::now();
  auto done = [this](std::string e, std::string data) { on_step_done(std::move(e), std::move(data)); };
  switch (s.kind) {
    case ConversationStep::Kind::Send:
      run_->trace("> " + printable(s.data));
      conn_.write(s.data, [done](std::string e) { done(std::move(e), ""); });
      break;
    case ConversationStep::Kind::Expect:
      conn_.read_until(*s.re, spec_->max_read_bytes, done);
      break;
    case ConversationStep::Kind::Tls: {
      std::string name = spec_->tls_options.server_name.empty() ? host_ : spec_->tls_options.server_name;
      conn_.start_tls(spec_->ssl_ctx.get(), name, &obs_, [done](std::string e) { done(std::move(e), ""); });
      break;
    }
  }
}

void ConversationProbe::on_step_done(std::string err, std::string data) {
  const auto& s = spec_->steps[step_];
  auto took = base::Clock::now() - phase_start_;
  if (s.kind == ConversationStep::Kind::Tls) {
    result_.add_phase("tls", took);
    if (conn_.ssl() != nullptr && err.empty()) {
      if (obs_.chain.empty()) obs_.chain = chain_info(SSL_get_peer_cert_chain(conn_.ssl()));
      result_.add_sample(names::kTlsVersionInfo, 1, {{"version", tls_version_name(conn_.ssl())}});
      run_->trace("tls " + tls_version_name(conn_.ssl()) + " (" + ms_text(took) + ")");
    }
    result_.chain = obs_.chain;
    std::string name = spec_->tls_options.server_name.empty() ? host_ : spec_->tls_options.server_name;
    auto [reason, msg] = judge_handshake(obs_, name, err);
    if (reason != FailureReason::None) return finish(reason, msg);
    if (obs_.client_cert_requested) return confirm_without_client_cert();
  } else if (!err.empty()) {
    std::string what = s.kind == ConversationStep::Kind::Expect
                           ? expect_failure(s.re->pattern(), err, data)
                           : err;
    return finish(s.starttls ? FailureReason::Tls : FailureReason::Expect,
                  (s.starttls ? "starttls: " : "") + what);
  } else if (s.kind == ConversationStep::Kind::Expect) {
    run_->trace("< " + printable(data) + "  (matched /" + s.re->pattern() + "/)");
  }
  ++step_;
  next_step();
}

// The server asked for a client certificate and we had none. A TLS 1.2 server that requires
// one has already failed the handshake; a TLS 1.3 server rejects right after it, so read
// briefly: an alert fails the run, data or silence lets it go on.
void ConversationProbe::confirm_without_client_cert() {
  static const Regex any = *Regex::compile("[\\s\\S]");
  run_->trace("server asked for a client certificate; none configured");
  auto done = std::make_shared<bool>(false);
  auto go_on = [this, done] {
    if (*done) return;
    *done = true;
    services_.loop.cancel(grace_timer_);
    grace_timer_ = 0;
    ++step_;
    next_step();
  };
  grace_timer_ = services_.loop.after(kClientAuthGrace, [this, go_on] {
    grace_timer_ = 0;
    go_on();
  });
  conn_.read_until(any, 1, [this, done, go_on](std::string err, std::string data) {
    if (*done) return;
    // Data or a clean close: the server accepted us. Only a TLS alert is a refusal.
    if (err.empty() || err.rfind("read:", 0) != 0) {
      conn_.unread(std::move(data));
      return go_on();
    }
    *done = true;
    services_.loop.cancel(grace_timer_);
    grace_timer_ = 0;
    finish(FailureReason::Tls, "the server requires a client certificate (mTLS) and none is "
                               "configured: " + err);
  });
}

void ConversationProbe::finish(FailureReason reason, std::string message) {
  if (run_ == nullptr) return;
  if (reason != FailureReason::None) result_.fail_with(reason, std::move(message));
  if (result_.chain.empty()) result_.chain = obs_.chain;
  Run* run = run_;
  run_ = nullptr;
  if (grace_timer_ != 0) services_.loop.cancel(grace_timer_);
  grace_timer_ = 0;
  conn_.close();
  run->finish(std::move(result_));
}

Result ConversationProbe::on_deadline() {
  std::string where = query_ != 0 ? "resolve of " + host_ : std::string(conn_.state());
  if (!spec_->steps.empty() && step_ < spec_->steps.size() &&
      spec_->steps[step_].kind == ConversationStep::Kind::Expect) {
    where = "expect /" + spec_->steps[step_].re->pattern() + "/";
  }
  Result r = std::move(result_);
  r.chain = obs_.chain;
  r.message = "timeout during " + where + " with " + target_;
  cancel();
  return r;
}

void ConversationProbe::cancel() {
  if (grace_timer_ != 0) services_.loop.cancel(grace_timer_);
  grace_timer_ = 0;
  if (query_ != 0 && resolver_ != nullptr) resolver_->cancel(query_);
  query_ = 0;
  conn_.close();
  run_ = nullptr;
}

std::unique_ptr<Probe> make_conversation_probe(const config::CheckConfig& check,
                                               const config::Target& target, Services& services) {
  return std::make_unique<ConversationProbe>(
      std::static_pointer_cast<const ConversationSpec>(check.spec), target.address, services);
}

}  // namespace probed::probes
