#include "probes/http/http_transfer.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "daemon/base/redact.h"
#include "probes/tls_inspect.h"

namespace probed::probes {
namespace {

constexpr const char* kUserAgent = "probed/0.1";

Duration micros(curl_off_t us) { return std::chrono::microseconds(us); }

}  // namespace

HttpTransfer::~HttpTransfer() {
  cancel();
  if (easy_ != nullptr) curl_easy_cleanup(easy_);
}

void HttpTransfer::release() {
  cancel();
  detach_share();
  multi_.release(easy_);
  easy_ = nullptr;
}

void HttpTransfer::cancel() {
  if (active_) multi_.remove(easy_);
  active_ = false;
  curl_slist_free_all(headers_);
  headers_ = nullptr;
  curl_slist_free_all(resolve_);
  resolve_ = nullptr;
}

base::Expected<void> HttpTransfer::start(const HopRequest& req, Duration budget, DoneFn done) {
  cancel();
  out_ = HopOutcome{};
  body_bytes_ = 0;
  errbuf_[0] = '\0';
  if (easy_ == nullptr) {
    easy_ = multi_.acquire();
    if (easy_ == nullptr) return base::unexpected("curl_easy_init failed");
  } else {
    detach_share();  // curl_easy_reset keeps a share handle attached
    curl_easy_reset(easy_);
  }
  configure(req, budget);
  auto ok = multi_.add(easy_, [this, done = std::move(done)](CURLcode code) {
    active_ = false;
    out_.code = code;
    collect();
    done();
  });
  if (!ok) return ok;
  active_ = true;
  return {};
}

void HttpTransfer::configure(const HopRequest& req, Duration budget) {
  CURL* e = easy_;
  curl_easy_setopt(e, CURLOPT_URL, req.url.c_str());
  current_is_tls_ = req.url.rfind("https:", 0) == 0;
  socket_errno_ = 0;
  curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, &HttpTransfer::on_open_socket);
  curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, this);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf_);
  curl_easy_setopt(e, CURLOPT_USERAGENT, kUserAgent);
  // Every run measures connect and TLS and sees the current certificate (DESIGN §10.3); no TLS
  // session resumption either, or the server would not send its chain.
  curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
  curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
  curl_easy_setopt(e, CURLOPT_SSL_SESSIONID_CACHE, 0L);
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);  // redirects are followed by HttpProbe
  // The run's deadline is enforced by the scheduler; this is only a backstop.
  long ms = static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(budget).count());
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, std::max(ms, 1L) + 1000);
  if (!req.pin.empty()) {
    resolve_ = curl_slist_append(resolve_, req.pin.c_str());
    curl_easy_setopt(e, CURLOPT_RESOLVE, resolve_);
  }
  // Methods: HEAD has no body; anything else is sent as written.
  if (req.method == "HEAD") {
    curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  } else if (req.method != "GET") {
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }
  if (req.send_body && req.body != nullptr && !req.body->empty()) {
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body->size()));
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, req.body->c_str());
    if (req.method == "GET") curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "GET");
  }
  headers_ = curl_slist_append(headers_, "Expect:");  // no 100-continue round trip
  static const config::StringMap kNoHeaders;
  for (const auto& [k, v] : req.headers != nullptr ? *req.headers : kNoHeaders) {
    if (!req.send_auth && (strcasecmp(k.c_str(), "Authorization") == 0 ||
                           strcasecmp(k.c_str(), "Cookie") == 0 ||
                           strcasecmp(k.c_str(), "Proxy-Authorization") == 0 ||
                           base::redact(v) != v)) {
      continue;
    }
    headers_ = curl_slist_append(headers_, (k + ": " + v).c_str());
  }
  if (!req.host_header.empty()) headers_ = curl_slist_append(headers_, req.host_header.c_str());
  if (req.send_auth && !spec_.bearer_token.empty()) {
    headers_ = curl_slist_append(headers_, ("Authorization: Bearer " + spec_.bearer_token).c_str());
  }
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers_);
  if (req.send_auth && spec_.basic_auth) {
    curl_easy_setopt(e, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(e, CURLOPT_USERNAME, spec_.basic_auth->first.c_str());
    curl_easy_setopt(e, CURLOPT_PASSWORD, spec_.basic_auth->second.c_str());
  }
  switch (spec_.http_version) {
    case HttpSpec::HttpVersion::Http1_1:
      curl_easy_setopt(e, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
      break;
    case HttpSpec::HttpVersion::Http2:
      curl_easy_setopt(e, CURLOPT_HTTP_VERSION,
                       req.url.rfind("https:", 0) == 0 ? CURL_HTTP_VERSION_2TLS
                                                       : CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
      break;
    case HttpSpec::HttpVersion::Any:
      curl_easy_setopt(e, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS);
      break;
  }
  if (spec_.ip_version == HttpSpec::IpVersion::V4) curl_easy_setopt(e, CURLOPT_IPRESOLVE, CURL_IPRESOLVE_V4);
  if (spec_.ip_version == HttpSpec::IpVersion::V6) curl_easy_setopt(e, CURLOPT_IPRESOLVE, CURL_IPRESOLVE_V6);
  // TLS: verification on unless insecure_skip_verify; TLS 1.2 at least.
  curl_easy_setopt(e, CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_2);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, spec_.tls.insecure_skip_verify ? 0L : 1L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, spec_.tls.insecure_skip_verify ? 0L : 2L);
  if (!spec_.tls.ca_file.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, spec_.tls.ca_file.c_str());
  // Debian's libcurl has a default CA path; with it set, curl 7.88 does not cache the parsed
  // trust store and re-reads the whole bundle (about 25 ms on the loop) for every https
  // probe. Without it the store is parsed once per CA file and multi handle and reused
  // (CURLOPT_CA_CACHE_TIMEOUT, 24 h by default).
  curl_easy_setopt(e, CURLOPT_CAPATH, nullptr);
  if (!spec_.tls.cert_file.empty()) {
    curl_easy_setopt(e, CURLOPT_SSLCERT, spec_.tls.cert_file.c_str());
    curl_easy_setopt(e, CURLOPT_SSLKEY, spec_.tls.key_file.c_str());
  }
  curl_easy_setopt(e, CURLOPT_SSL_CTX_FUNCTION, &HttpTransfer::on_ssl_ctx);
  curl_easy_setopt(e, CURLOPT_SSL_CTX_DATA, this);
  // Only the configured proxy: an http_proxy in the daemon's environment must not change what
  // a check measures ("" disables curl's environment lookup).
  curl_easy_setopt(e, CURLOPT_PROXY, spec_.proxy.c_str());
  curl_easy_setopt(e, CURLOPT_NOPROXY, "");  // and no_proxy from the environment neither
  if (req.cookies != nullptr) {
    // libcurl's in-memory cookie engine ("" reads no file), shared by the steps of a journey
    // run through the share handle; it honours Expires and Max-Age.
    curl_easy_setopt(e, CURLOPT_COOKIEFILE, "");
    curl_easy_setopt(e, CURLOPT_SHARE, req.cookies);
    shared_ = true;
  }
  want_body_ = spec_.assertions.needs_body() || req.need_body;
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &HttpTransfer::on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, this);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &HttpTransfer::on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, this);
}

size_t HttpTransfer::on_header(char* data, size_t size, size_t n, void* self) {
  auto* t = static_cast<HttpTransfer*>(self);
  std::string_view line(data, size * n);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.rfind("HTTP/", 0) == 0) {
    // A new response (after 1xx): start over.
    t->out_.saw_status = true;
    t->out_.headers_done = false;
    t->out_.response.headers.clear();
    t->out_.response.headers.reserve(16);  // one allocation, not one per doubling
    if (t->current_is_tls_ && (t->out_.chain.empty() || t->out_.tls_version.empty())) t->capture_tls();
  } else if (line.empty()) {
    t->out_.headers_done = true;
  } else if (auto colon = line.find(':'); colon != std::string_view::npos) {
    std::string_view v = line.substr(colon + 1);
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    t->out_.response.headers.emplace_back(std::string(line.substr(0, colon)), std::string(v));
  }
  return size * n;
}

size_t HttpTransfer::on_body(char* data, size_t size, size_t n, void* self) {
  auto* t = static_cast<HttpTransfer*>(self);
  size_t len = size * n;
  auto cap = static_cast<uint64_t>(t->spec_.max_body_bytes);
  uint64_t room = t->body_bytes_ < cap ? cap - t->body_bytes_ : 0;
  size_t take = static_cast<size_t>(std::min<uint64_t>(room, len));
  if (t->want_body_) t->out_.response.body.append(data, take);
  t->body_bytes_ += take;
  if (take < len) {
    // max_body_bytes reached: stop reading; the rest is discarded, not an error (SPEC §2).
    t->out_.response.body_truncated = true;
    return 0;
  }
  return len;
}

CURLcode HttpTransfer::on_ssl_ctx(CURL* /*easy*/, void* ssl_ctx, void* self) {
  auto* ctx = static_cast<SSL_CTX*>(ssl_ctx);
  SSL_CTX_set_app_data(ctx, self);
  // Keep curl's verify mode; add a callback that sees the served chain and the first error.
  SSL_CTX_set_verify(ctx, SSL_CTX_get_verify_mode(ctx), &HttpTransfer::on_verify);
  return CURLE_OK;
}

int HttpTransfer::on_verify(int preverify_ok, X509_STORE_CTX* ctx) {
  auto* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(ctx, SSL_get_ex_data_X509_STORE_CTX_idx()));
  auto* t = static_cast<HttpTransfer*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
  if (t == nullptr) return preverify_ok;
  if (t->out_.chain.empty()) t->out_.chain = chain_info(X509_STORE_CTX_get0_untrusted(ctx));
  if (preverify_ok == 0 && t->out_.verify_error == 0) {
    t->out_.verify_error = X509_STORE_CTX_get_error(ctx);
    t->out_.verify_error_cert = cert_info(X509_STORE_CTX_get_current_cert(ctx));
  }
  return preverify_ok;
}

void HttpTransfer::capture_tls() {
  curl_tlssessioninfo* info = nullptr;
  if (curl_easy_getinfo(easy_, CURLINFO_TLS_SSL_PTR, &info) != CURLE_OK || info == nullptr ||
      info->backend != CURLSSLBACKEND_OPENSSL || info->internals == nullptr) {
    return;
  }
  auto* ssl = static_cast<SSL*>(info->internals);
  out_.is_tls = true;
  out_.tls_version = tls_version_name(ssl);
  if (out_.chain.empty()) out_.chain = chain_info(SSL_get_peer_cert_chain(ssl));
}

void HttpTransfer::detach_share() {
  if (!shared_ || easy_ == nullptr) return;
  curl_easy_setopt(easy_, CURLOPT_SHARE, nullptr);
  // Drops the cookie file list CURLOPT_COOKIEFILE made: libcurl 7.88's curl_easy_reset()
  // forgets it without freeing it (LeakSanitizer sees every pooled journey handle otherwise).
  curl_easy_setopt(easy_, CURLOPT_COOKIEFILE, nullptr);
  shared_ = false;
}

std::string HttpTransfer::progress() const {
  if (out_.headers_done) return "reading body of";
  if (out_.saw_status) return "reading headers of";
  if (easy_ == nullptr) return "connect to";
  curl_off_t connect = 0, app = 0, pre = 0;
  curl_easy_getinfo(easy_, CURLINFO_CONNECT_TIME_T, &connect);
  curl_easy_getinfo(easy_, CURLINFO_APPCONNECT_TIME_T, &app);
  curl_easy_getinfo(easy_, CURLINFO_PRETRANSFER_TIME_T, &pre);
  if (connect == 0) return "connect to";
  if (current_is_tls_ && app == 0) return "tls handshake with";
  (void)pre;
  return "waiting for the response of";
}

curl_socket_t HttpTransfer::on_open_socket(void* self, curlsocktype /*purpose*/, curl_sockaddr* addr) {
  curl_socket_t fd = ::socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
  if (fd == CURL_SOCKET_BAD) static_cast<HttpTransfer*>(self)->socket_errno_ = errno;
  return fd;
}

void HttpTransfer::collect() {
  out_.error = errbuf_;
  curl_easy_getinfo(easy_, CURLINFO_OS_ERRNO, &out_.os_errno);
  if (out_.os_errno == 0) out_.os_errno = socket_errno_;
  curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &out_.response.status);
  curl_easy_getinfo(easy_, CURLINFO_HTTP_VERSION, &out_.http_version);
  curl_off_t cl = -1;
  curl_easy_getinfo(easy_, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
  out_.content_length = static_cast<double>(cl);
  char* ip = nullptr;
  if (curl_easy_getinfo(easy_, CURLINFO_PRIMARY_IP, &ip) == CURLE_OK && ip) out_.primary_ip = ip;
  curl_off_t name = 0, connect = 0, app = 0, pre = 0, start = 0, total = 0;
  curl_easy_getinfo(easy_, CURLINFO_NAMELOOKUP_TIME_T, &name);
  curl_easy_getinfo(easy_, CURLINFO_CONNECT_TIME_T, &connect);
  curl_easy_getinfo(easy_, CURLINFO_APPCONNECT_TIME_T, &app);
  curl_easy_getinfo(easy_, CURLINFO_PRETRANSFER_TIME_T, &pre);
  curl_easy_getinfo(easy_, CURLINFO_STARTTRANSFER_TIME_T, &start);
  curl_easy_getinfo(easy_, CURLINFO_TOTAL_TIME_T, &total);
  // curl's times are cumulative from the start of the transfer; turn them into phases.
  curl_off_t connected = connect > 0 ? connect : name;
  curl_off_t secured = app > 0 ? app : connected;
  out_.connect = micros(std::max<curl_off_t>(0, connected - name));
  out_.tls = micros(std::max<curl_off_t>(0, secured - connected));
  if (start > 0) {
    out_.processing = micros(std::max<curl_off_t>(0, start - std::max(pre, secured)));
    out_.transfer = micros(std::max<curl_off_t>(0, total - start));
  }
  out_.response.duration = micros(total);
  curl_slist_free_all(headers_);
  headers_ = nullptr;
  curl_slist_free_all(resolve_);
  resolve_ = nullptr;
}

}  // namespace probed::probes
