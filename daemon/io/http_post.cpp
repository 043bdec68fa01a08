#include "daemon/io/http_post.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cstring>

namespace probed::io {
namespace {

constexpr size_t kMaxBodyKept = 1024;

// Retry-After is either delta-seconds or an HTTP date (RFC 9110 §10.2.3).
base::Duration parse_retry_after(std::string v) {
  while (!v.empty() && std::isspace(static_cast<unsigned char>(v.back()))) v.pop_back();
  while (!v.empty() && std::isspace(static_cast<unsigned char>(v.front()))) v.erase(0, 1);
  if (v.empty()) return base::Duration(-1);
  if (std::all_of(v.begin(), v.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
    return std::chrono::seconds(std::stoll(v.substr(0, 9)));
  }
  time_t when = curl_getdate(v.c_str(), nullptr);
  if (when < 0) return base::Duration(-1);
  double delta = static_cast<double>(when) - base::unix_now();
  return std::chrono::duration_cast<base::Duration>(std::chrono::duration<double>(std::max(0.0, delta)));
}

}  // namespace

bool is_ip_literal(std::string host) {
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

void HttpPost::start(const std::string& url, std::string body,
                     const std::vector<std::string>& headers, base::Duration timeout, DoneFn done) {
  cancel();
  done_ = std::move(done);
  url_ = url;
  body_ = std::move(body);
  header_lines_ = headers;
  answer_ = {};
  deadline_ = base::Clock::now() + timeout;
  const uint64_t gen = ++gen_;
  timer_ = loop_.after(timeout, [this, gen] {
    timer_ = 0;
    if (gen == gen_) finish({0, "timed out", base::Duration(-1), {}});
  });
  CURLU* u = curl_url();
  char *host = nullptr, *port = nullptr;
  bool ok = curl_url_set(u, CURLUPART_URL, url.c_str(), 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK;
  host_ = host ? host : "";
  port_ = port ? port : "";
  curl_free(host);
  curl_free(port);
  curl_url_cleanup(u);
  if (!ok) {
    loop_.defer([this, gen] {
      if (gen == gen_) finish({0, "invalid URL", base::Duration(-1), {}});
    });
    return;
  }
  if (is_ip_literal(host_)) {
    loop_.defer([this, gen] {
      if (gen == gen_) send("");
    });
    return;
  }
  auto ch = ares_.get(AresOptions{});
  if (!ch) {
    loop_.defer([this, gen, err = ch.error()] {
      if (gen == gen_) finish({0, "resolver: " + err, base::Duration(-1), {}});
    });
    return;
  }
  resolver_ = *ch;
  query_ = resolver_->resolve(host_, AF_UNSPEC, [this, gen](ResolveResult r) {
    if (gen != gen_) return;
    query_ = 0;
    on_resolved(std::move(r));
  });
}

void HttpPost::on_resolved(ResolveResult r) {
  if (r.status != ARES_SUCCESS || r.addresses.empty()) {
    return finish({0, "resolve " + host_ + ": " + (r.error.empty() ? "no address" : r.error),
                   base::Duration(-1), {}});
  }
  const std::string& a = r.addresses.front();
  send(host_ + ":" + port_ + ":" + (a.find(':') != std::string::npos ? "[" + a + "]" : a));
}

void HttpPost::send(const std::string& pin) {
  easy_ = curl_.acquire();
  if (easy_ == nullptr) return finish({0, "cannot create a transfer", base::Duration(-1), {}});
  CURL* e = easy_;
  curl_easy_setopt(e, CURLOPT_URL, url_.c_str());
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf_);
  curl_easy_setopt(e, CURLOPT_USERAGENT, "probed");
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_PROXY, "");
  curl_easy_setopt(e, CURLOPT_NOPROXY, "");
  curl_easy_setopt(e, CURLOPT_CAPATH, nullptr);
  curl_easy_setopt(e, CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_2);
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - base::Clock::now());
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, std::max<long>(static_cast<long>(left.count()), 1L));
  curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body_.size()));
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, body_.c_str());
  for (const auto& h : header_lines_) headers_ = curl_slist_append(headers_, h.c_str());
  // No "Expect: 100-continue" round trip for our small bodies.
  headers_ = curl_slist_append(headers_, "Expect:");
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers_);
  if (!pin.empty()) {
    resolve_ = curl_slist_append(nullptr, pin.c_str());
    curl_easy_setopt(e, CURLOPT_RESOLVE, resolve_);
  }
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &HttpPost::on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, this);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &HttpPost::on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, this);
  const uint64_t gen = gen_;
  auto ok = curl_.add(e, [this, gen](CURLcode rc) {
    if (gen != gen_) return;
    HttpAnswer a = std::move(answer_);
    if (rc == CURLE_OK) {
      curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &a.status);
    } else {
      a.status = 0;
      a.error = errbuf_[0] != 0 ? errbuf_ : curl_easy_strerror(rc);
    }
    finish(std::move(a));
  });
  if (!ok) {
    loop_.defer([this, gen, err = ok.error()] {
      if (gen == gen_) finish({0, err, base::Duration(-1), {}});
    });
  }
}

size_t HttpPost::on_header(char* data, size_t size, size_t n, void* self) {
  auto* p = static_cast<HttpPost*>(self);
  std::string line(data, size * n);
  if (line.size() > 12 && strncasecmp(line.c_str(), "retry-after:", 12) == 0) {
    p->answer_.retry_after = parse_retry_after(line.substr(12));
  }
  return size * n;
}

size_t HttpPost::on_body(char* data, size_t size, size_t n, void* self) {
  auto* p = static_cast<HttpPost*>(self);
  size_t room = kMaxBodyKept - std::min(kMaxBodyKept, p->answer_.body.size());
  p->answer_.body.append(data, std::min(room, size * n));
  return size * n;
}

void HttpPost::finish(HttpAnswer a) {
  DoneFn done = std::move(done_);
  cancel();
  if (done) done(std::move(a));
}

void HttpPost::cancel() {
  ++gen_;
  done_ = nullptr;
  if (timer_ != 0) loop_.cancel(timer_);
  timer_ = 0;
  if (query_ != 0 && resolver_ != nullptr) resolver_->cancel(query_);
  query_ = 0;
  if (easy_ != nullptr) {
    curl_.remove(easy_);
    curl_.release(easy_);
    easy_ = nullptr;
  }
  curl_slist_free_all(headers_);
  headers_ = nullptr;
  curl_slist_free_all(resolve_);
  resolve_ = nullptr;
}

}  // namespace probed::io
