#include "probes/http/http_exchange.h"

#include <arpa/inet.h>

#include "config/duration.h"
#include "daemon/io/http_post.h"
#include "probes/http/http_failure.h"
#include "probes/metric_names.h"

namespace probed::probes {
namespace {

std::string ms_text(Duration d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f ms", base::to_seconds(d) * 1000);
  return buf;
}

std::string version_text(long v) {
  switch (v) {
    case CURL_HTTP_VERSION_1_0: return "1.0";
    case CURL_HTTP_VERSION_1_1: return "1.1";
    case CURL_HTTP_VERSION_2_0: return "2";
    case CURL_HTTP_VERSION_3: return "3";
    default: return "?";
  }
}

double version_value(long v) {
  switch (v) {
    case CURL_HTTP_VERSION_1_0: return 1.0;
    case CURL_HTTP_VERSION_1_1: return 1.1;
    case CURL_HTTP_VERSION_2_0: return 2.0;
    case CURL_HTTP_VERSION_3: return 3.0;
    default: return 0;
  }
}

}  // namespace

HttpExchange::HttpExchange(std::shared_ptr<const HttpSpec> spec, Services& services)
    : spec_(std::move(spec)), services_(services), transfer_(*spec_, services.curl) {}

HttpExchange::~HttpExchange() { cancel(); }

base::Expected<HttpExchange::Url> HttpExchange::parse_url(const std::string& url) {
  CURLU* u = curl_url();
  Url out;
  CURLUcode rc = curl_url_set(u, CURLUPART_URL, url.c_str(), 0);
  if (rc != CURLUE_OK) {
    curl_url_cleanup(u);
    return base::unexpected("invalid URL \"" + url + "\": " + curl_url_strerror(rc));
  }
  char *scheme = nullptr, *host = nullptr, *port = nullptr, *full = nullptr;
  curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
  curl_url_get(u, CURLUPART_HOST, &host, 0);
  curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT);
  curl_url_get(u, CURLUPART_URL, &full, 0);
  out.scheme = scheme ? scheme : "";
  out.host = host ? host : "";
  out.port = port ? port : "";
  out.full = full ? full : url;
  curl_free(scheme);
  curl_free(host);
  curl_free(port);
  curl_free(full);
  curl_url_cleanup(u);
  std::string bare = out.host;
  if (bare.size() > 2 && bare.front() == '[') bare = bare.substr(1, bare.size() - 2);
  out.ip_literal = io::is_ip_literal(bare);
  return out;
}

base::Expected<HttpExchange::Url> HttpExchange::parsed(const std::string& url) {
  if (!parsed_ || parsed_text_ != url) {
    parsed_.emplace(parse_url(url));
    parsed_text_ = url;
  }
  return *parsed_;
}

void HttpExchange::start(Run& run, ExchangeRequest req, DoneFn done) {
  ++gen_;
  run_ = &run;
  req_ = std::move(req);
  done_ = std::move(done);
  started_ = base::Clock::now();
  pinned_proxy_.clear();
  transfer_.reset_outcome();
  tls_version_.clear();
  result_ = Result{};
  result_.phases.reserve(8);   // resolve + four per hop
  result_.samples.reserve(8);  // add_common_samples
  method_ = spec_->method;
  visited_.clear();
  redirects_ = 0;
  dns_time_ = Duration::zero();
  auto url = parsed(req_.url);
  original_host_ = url ? url->host : "";
  original_origin_ = url ? url->scheme + "://" + url->host + ":" + url->port : "";
  begin_hop(req_.url);
}

void HttpExchange::trace(std::string text) {
  if (run_ == nullptr || !run_->tracing()) return;
  run_->trace(hide_values(std::move(text), req_.hide));
}

std::string HttpExchange::where() const {
  if (phase_ == "resolve") return "resolve of " + current_;
  return transfer_.progress() + " " + current_;
}

void HttpExchange::begin_hop(const std::string& url_text) {
  auto url = parsed(url_text);
  if (!url) {
    return finish_deferred(redirects_ > 0 ? FailureReason::Status : FailureReason::Error,
                           redirects_ > 0 ? "redirect to an invalid URL: " + url.error() : url.error());
  }
  if (url->scheme != "http" && url->scheme != "https") {
    return finish_deferred(FailureReason::Status,
                           "redirect to " + url_text + " refused: only http and https are followed");
  }
  visited_.insert(url->full);
  current_ = url->full;
  phase_start_ = base::Clock::now();
  // With a proxy, the proxy resolves the target; we resolve (and pin) only the proxy's host.
  if (!spec_->proxy.empty()) {
    auto proxy = parse_url(spec_->proxy.find("://") == std::string::npos ? "http://" + spec_->proxy
                                                                          : spec_->proxy);
    if (!proxy) return finish_deferred(FailureReason::Error, proxy.error());
    if (proxy->ip_literal) {
      defer([this, u = *url] { send(u, ""); });
      return;
    }
    phase_ = "resolve";
    current_ = proxy->host;
    Url target = *url;
    auto ch = services_.ares.get({});
    if (!ch) return finish_deferred(FailureReason::Error, ch.error());
    resolver_ = *ch;
    query_ = resolver_->resolve(proxy->host, address_family(spec_->ip_version),
                                [this, target, proxy = *proxy](io::ResolveResult r) {
                                  query_ = 0;
                                  if (r.status != ARES_SUCCESS || r.addresses.empty()) {
                                    return on_resolved(proxy, std::move(r));
                                  }
                                  dns_time_ += base::Clock::now() - phase_start_;
                                  trace("resolve proxy " + proxy.host + " -> " + r.addresses[0]);
                                  // Pin the proxy's name, then send to the target through it.
                                  pinned_proxy_ = proxy.host + ":" + proxy.port + ":" + r.addresses[0];
                                  send(target, "");
                                });
    return;
  }
  if (url->ip_literal) {
    defer([this, u = *url] { send(u, ""); });
    return;
  }
  phase_ = "resolve";
  auto ch = services_.ares.get({});
  if (!ch) return finish_deferred(FailureReason::Error, ch.error());
  resolver_ = *ch;
  Url u = *url;
  query_ = resolver_->resolve(u.host, address_family(spec_->ip_version),
                              [this, u](io::ResolveResult r) {
                                query_ = 0;
                                on_resolved(u, std::move(r));
                              });
}

void HttpExchange::on_resolved(const Url& url, io::ResolveResult r) {
  Duration took = base::Clock::now() - phase_start_;
  dns_time_ += took;
  result_.add_phase("resolve", took);
  if (r.status != ARES_SUCCESS || r.addresses.empty()) {
    std::string why = r.status != ARES_SUCCESS ? r.error : "no addresses";
    if (r.status == ARES_ETIMEOUT) why = "DNS server did not answer";
    return finish(FailureReason::Dns, "resolve " + url.host + ": " + why);
  }
  // "any" prefers IPv4, like blackbox's default; the first address of the family is used.
  std::string chosen = r.addresses[0];
  if (spec_->ip_version == HttpSpec::IpVersion::Any) {
    for (const auto& a : r.addresses) {
      if (a.find(':') == std::string::npos) {
        chosen = a;
        break;
      }
    }
  }
  if (tracing()) trace("resolve " + url.host + " -> " + chosen + " (" + ms_text(took) + ")");
  send(url, chosen);
}

void HttpExchange::send(const Url& url, const std::string& address) {
  HopRequest req;
  req.method = method_;
  req.send_body = method_ != "GET" && method_ != "HEAD";
  req.send_body = req.send_body || (!req_.body.empty() && redirects_ == 0);
  req.headers = &req_.headers;
  req.body = &req_.body;
  req.need_body = req_.need_body;
  req.cookies = req_.cookies;
  // Credentials and secret-bearing headers go only to the origin of the target (scheme, host
  // and port), as browsers do on redirects.
  req.send_auth = url.scheme + "://" + url.host + ":" + url.port == original_origin_;
  req.url = url.full;
  std::string pin_host = url.host;
  // tls_server_name: connect to the target's address but present (and verify) this name.
  if (url.scheme == "https" && !spec_->tls.server_name.empty() && url.host == original_host_) {
    CURLU* u = curl_url();
    curl_url_set(u, CURLUPART_URL, url.full.c_str(), 0);
    curl_url_set(u, CURLUPART_HOST, spec_->tls.server_name.c_str(), 0);
    char* rewritten = nullptr;
    curl_url_get(u, CURLUPART_URL, &rewritten, 0);
    req.url = rewritten ? rewritten : url.full;
    curl_free(rewritten);
    curl_url_cleanup(u);
    pin_host = spec_->tls.server_name;
    bool default_port = (url.port == "443");
    req.host_header = "Host: " + url.host + (default_port ? "" : ":" + url.port);
    if (address.empty() && url.ip_literal) {
      std::string bare = url.host;
      if (bare.front() == '[') bare = bare.substr(1, bare.size() - 2);
      req.pin = pin_host + ":" + url.port + ":" + (bare.find(':') != std::string::npos ? "[" + bare + "]" : bare);
    }
  }
  if (!address.empty()) {
    bool v6 = address.find(':') != std::string::npos;
    req.pin = pin_host + ":" + url.port + ":" + (v6 ? "[" + address + "]" : address);
  }
  if (!pinned_proxy_.empty()) req.pin = pinned_proxy_;
  phase_ = "connect";
  current_ = url.full;
  bool first = redirects_ == 0 && !req_.display_url.empty();
  if (tracing()) trace("> " + method_ + " " + (first ? req_.display_url : url.full));
  auto budget = run_->deadline() - base::Clock::now();
  auto ok = transfer_.start(req, budget, [this] { on_transfer_done(); });
  if (!ok) finish_deferred(FailureReason::Error, ok.error());
}

void HttpExchange::add_hop_phases(const HopOutcome& o) {
  result_.add_phase("connect", o.connect);
  result_.add_phase("tls", o.tls);
  result_.add_phase("processing", o.processing);
  result_.add_phase("transfer", o.transfer);
  if (!tracing()) return;
  if (!o.primary_ip.empty()) trace("connect " + o.primary_ip + " (" + ms_text(o.connect) + ")");
  if (o.is_tls) trace("tls " + o.tls_version + " (" + ms_text(o.tls) + ")");
}

void HttpExchange::on_transfer_done() {
  HopOutcome& o = transfer_.outcome();
  add_hop_phases(o);
  if (!o.chain.empty()) result_.chain = o.chain;
  if (!o.tls_version.empty()) tls_version_ = o.tls_version;
  bool capped = o.code == CURLE_WRITE_ERROR && o.response.body_truncated;
  if (o.code != CURLE_OK && !capped) return fail_transfer(o);
  if (o.saw_status && tracing()) {
    trace("< HTTP/" + version_text(o.http_version) + " " + std::to_string(o.response.status));
  }
  if (capped) trace("body capped at max_body_bytes (" + std::to_string(spec_->max_body_bytes) + ")");
  if (follow_redirect(o)) return;
  finish_success(o);
}

std::string HttpExchange::resolve_location(const std::string& location) const {
  // Against the URL we asked for (not curl's view of it: the host may have been rewritten
  // for tls_server_name, and curl would carry basic-auth credentials into the result).
  CURLU* u = curl_url();
  std::string out;
  if (curl_url_set(u, CURLUPART_URL, current_.c_str(), 0) == CURLUE_OK &&
      curl_url_set(u, CURLUPART_URL, location.c_str(), CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK) {
    curl_url_set(u, CURLUPART_USER, nullptr, 0);
    curl_url_set(u, CURLUPART_PASSWORD, nullptr, 0);
    char* full = nullptr;
    if (curl_url_get(u, CURLUPART_URL, &full, 0) == CURLUE_OK) out = full;
    curl_free(full);
  }
  curl_url_cleanup(u);
  return out.empty() ? location : out;
}

bool HttpExchange::follow_redirect(const HopOutcome& o) {
  long s = o.response.status;
  const std::string* location = o.response.header("Location");
  if (!spec_->follow_redirects || s < 300 || s > 399 || s == 304 || location == nullptr ||
      location->empty()) {
    return false;
  }
  const std::string next_url = resolve_location(*location);
  if (redirects_ >= spec_->max_redirects) {
    finish(FailureReason::Status, "too many redirects (max_redirects " +
                                      std::to_string(spec_->max_redirects) + ")");
    return true;
  }
  auto next = parse_url(next_url);
  if (next && visited_.count(next->full) != 0) {
    finish(FailureReason::Status, "redirect loop: " + next->full + " was already visited");
    return true;
  }
  ++redirects_;
  trace("redirect " + std::to_string(s) + " -> " + next_url);
  // Browsers' rule: 303 always, and 301/302 after a POST, become GET without a body.
  if ((s == 303 && method_ != "HEAD") || ((s == 301 || s == 302) && method_ == "POST")) {
    method_ = "GET";
  }
  begin_hop(next_url);
  return true;
}

void HttpExchange::fail_transfer(const HopOutcome& o) {
  auto [reason, message] = classify_failure(o, spec_->tls.insecure_skip_verify, current_);
  finish(reason, std::move(message));
}

void HttpExchange::add_common_samples(const HopOutcome& o) {
  result_.add_sample(names::kDnsLookupTime, base::to_seconds(dns_time_));
  result_.add_sample(names::kHttpRedirects, redirects_);
  if (o.saw_status) {
    result_.add_sample(names::kHttpStatusCode, static_cast<double>(o.response.status));
    result_.add_sample(names::kHttpContentLength, o.content_length);
    result_.add_sample(names::kHttpVersion, version_value(o.http_version));
  }
  result_.add_sample(names::kHttpSsl, o.is_tls ? 1 : 0);
  if (!tls_version_.empty()) result_.add_sample(names::kTlsVersionInfo, 1, {{"version", tls_version_}});
}

void HttpExchange::finish_success(HopOutcome& o) {
  HttpResponse& response = o.response;  // not a copy: the body may be megabytes
  response.duration = base::Clock::now() - started_;
  std::vector<std::string> verdicts;
  result_.success = true;
  spec_->assertions.evaluate(response, result_, run_->tracing() ? &verdicts : nullptr);
  for (auto& v : verdicts) trace(std::move(v));
  if (spec_->http_version == HttpSpec::HttpVersion::Http2 && o.http_version != CURL_HTTP_VERSION_2_0) {
    result_.fail_with(FailureReason::Status,
                      "server answered HTTP/" + version_text(o.http_version) + ", expected HTTP/2");
  }
  add_common_samples(o);
  if (result_.success) result_.message = "HTTP " + std::to_string(o.response.status);
  transfer_.release();  // the outcome (and its response) stays until the next start
  complete(&transfer_.outcome().response);
}

void HttpExchange::complete(const HttpResponse* response) {
  run_ = nullptr;
  DoneFn done = std::move(done_);
  done_ = nullptr;
  done(std::move(result_), response);
}

void HttpExchange::finish(FailureReason reason, std::string message) {
  if (run_ == nullptr) return;
  add_common_samples(transfer_.outcome());
  result_.fail_with(reason, std::move(message));
  transfer_.release();
  const HopOutcome& o = transfer_.outcome();
  complete(o.saw_status && o.headers_done ? &o.response : nullptr);
}

void HttpExchange::defer(std::function<void()> fn) {
  services_.loop.defer([this, gen = gen_, fn = std::move(fn)] {
    // Deferred work of a cancelled run is dropped. The scheduler destroys probes through
    // loop.defer too, queued after this, so `this` is still alive here.
    if (gen == gen_ && run_ != nullptr) fn();
  });
}

void HttpExchange::finish_deferred(FailureReason reason, std::string message) {
  defer([this, reason, message = std::move(message)]() mutable {
    finish(reason, std::move(message));
  });
}

Result HttpExchange::on_deadline() {
  std::string msg = "timeout during " + where();
  add_hop_phases(transfer_.outcome());
  if (!transfer_.outcome().chain.empty()) result_.chain = transfer_.outcome().chain;
  cancel();
  Result r = std::move(result_);
  r.message = msg;
  return r;
}

void HttpExchange::cancel() {
  ++gen_;
  if (query_ != 0 && resolver_ != nullptr) resolver_->cancel(query_);
  query_ = 0;
  transfer_.release();
  run_ = nullptr;
  done_ = nullptr;
}

}  // namespace probed::probes
