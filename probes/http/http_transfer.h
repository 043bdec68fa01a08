// HttpTransfer: one HTTP request/response on a fresh connection, through CurlMulti, with the
// address already resolved (pinned with CURLOPT_RESOLVE; curl never resolves a name itself).
// It records timings, the response (body capped at max_body_bytes), and the served certificate
// chain, taken in OpenSSL's verify callback so it is known even when verification fails.
// Loop thread only; one transfer at a time per object.
#pragma once

#include <curl/curl.h>
#include <openssl/x509.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "daemon/io/curl_multi.h"
#include "probes/assertions/response.h"
#include "probes/http/http_spec.h"
#include "probes/result.h"

namespace probed::probes {

struct HopRequest {
  std::string url;          // as sent (host may be the tls_server_name)
  std::string method;
  bool send_body = false;
  std::string pin;          // "host:port:address" for CURLOPT_RESOLVE; empty for IP literals
  std::string host_header;  // "Host: ..." override when the URL host was rewritten for SNI
  bool send_auth = true;    // credentials only go to the original host
  const config::StringMap* headers = nullptr;  // the request's headers; nullptr: none
  const std::string* body = nullptr;           // the request's body; nullptr: none
  bool need_body = false;   // keep the response body even if no assertion reads it
  CURLSH* cookies = nullptr;  // a cookie-sharing handle (journeys); none: no cookie engine
};

struct HopOutcome {
  CURLcode code = CURLE_OK;
  std::string error;  // curl's error buffer
  long os_errno = 0;
  bool saw_status = false;
  bool headers_done = false;
  HttpResponse response;
  long http_version = 0;  // CURL_HTTP_VERSION_*
  double content_length = -1;
  Duration connect{}, tls{}, processing{}, transfer{};
  std::string primary_ip;
  bool is_tls = false;
  std::string tls_version;
  std::vector<CertInfo> chain;           // as served, leaf first
  long verify_error = 0;                 // X509_V_OK when none
  std::optional<CertInfo> verify_error_cert;
};

class HttpTransfer {
 public:
  using DoneFn = std::function<void()>;
  HttpTransfer(const HttpSpec& spec, io::CurlMulti& multi) : spec_(spec), multi_(multi) {}
  ~HttpTransfer();
  HttpTransfer(const HttpTransfer&) = delete;
  HttpTransfer& operator=(const HttpTransfer&) = delete;

  // Starts the request; done runs on the loop when it ends (outcome() holds the details).
  base::Expected<void> start(const HopRequest& req, Duration budget, DoneFn done);
  void cancel();
  // Frees the curl handle between runs (a probe sleeps most of its life; an idle easy handle
  // costs about 18 KB, which is 180 MB at 10,000 checks).
  void release();
  HopOutcome& outcome() { return out_; }
  void reset_outcome() { out_ = HopOutcome{}; }
  bool active() const { return active_; }
  // Where an active transfer is: "connect", "tls handshake", "waiting for response",
  // "reading headers", "reading body".
  std::string progress() const;

 private:
  void configure(const HopRequest& req, Duration budget);
  void collect();
  static size_t on_header(char* data, size_t size, size_t n, void* self);
  static size_t on_body(char* data, size_t size, size_t n, void* self);
  static CURLcode on_ssl_ctx(CURL* easy, void* ssl_ctx, void* self);
  // Opens the socket for curl to keep socket()'s errno: curl does not report it
  // (CURLINFO_OS_ERRNO stays 0), so running out of fds would read "Couldn't connect".
  static curl_socket_t on_open_socket(void* self, curlsocktype purpose, curl_sockaddr* addr);
  static int on_verify(int preverify_ok, X509_STORE_CTX* ctx);
  void capture_tls();
  void detach_share();

  const HttpSpec& spec_;
  io::CurlMulti& multi_;
  CURL* easy_ = nullptr;
  curl_slist* headers_ = nullptr;
  curl_slist* resolve_ = nullptr;
  char errbuf_[CURL_ERROR_SIZE] = {};
  int socket_errno_ = 0;  // of a failed socket() in this hop
  bool active_ = false;
  bool want_body_ = false;
  bool current_is_tls_ = false;
  bool shared_ = false;  // attached to a share handle: detached before the handle is pooled
  uint64_t body_bytes_ = 0;
  HopOutcome out_;
};

}  // namespace probed::probes
