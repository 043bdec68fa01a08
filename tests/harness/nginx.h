// Nginx: a real nginx (/usr/sbin/nginx, single process, foreground) serving canned test
// locations on loopback ports from a private temp dir. Construct/destroy on one thread; the
// accessors are const and safe from any thread while the object lives.
#ifndef PROBED_TESTS_HARNESS_NGINX_H_
#define PROBED_TESTS_HARNESS_NGINX_H_

#include <map>
#include <string>
#include <vector>

#include "tests/harness/pki.h"
#include "tests/harness/ports.h"
#include "tests/harness/process.h"

namespace probed::testing {

struct NginxServer {
  std::string name{};  // key for port()/url(); must be unique
  bool tls = false;
  std::string cert_chain_path{};                  // tls: leaf + intermediates PEM
  std::string key_path{};                         // tls: its private key
  std::string client_ca_path{};                   // non-empty => ssl_verify_client on (mTLS)
  std::string extra_locations{};                  // raw nginx location blocks, inserted verbatim
  std::string ssl_protocols = "TLSv1.2 TLSv1.3";
  bool http2 = false;  // listen ... http2 (with tls: negotiated by ALPN)  // TLSv1/TLSv1.1 also set @SECLEVEL=0
};

// A TLS server named `name` serving `cert`'s chain and key; a non-empty `client_ca` requires
// client certificates issued under it (mTLS).
NginxServer tls_server(const std::string& name, const IssuedCert& cert,
                       const std::string& client_ca = "");

// The servers the TLS tests share: "plain" (http), then one TLS server per standard
// certificate: valid, expired, expiring (3 d), notyet, wronghost, selfsigned, interm
// (intermediate expiring first), mtls (valid, client certificates under `pki`'s root
// required) and tls10 (valid, TLS 1.0 only).
std::vector<NginxServer> standard_tls_servers(const StandardCerts& certs, const Pki& pki);

// Default locations of every server:
//   /                  200 "hello from nginx\n" (text/plain)
//   /healthz           200 {"status":"up","items":[{"sku":"A1"}]} (application/json)
//   /status/NNN        NNN for 200 201 204 301 302 400 401 403 404 418 429 500 502 503 504
//                      (body "status NNN\n"; 301/302 redirect to /healthz)
//   /redirect          302 -> /healthz
//   /redirect-loop     302 -> /redirect-loop2 -> 302 -> /redirect-loop ...
//   /redirect-ftp      302 -> ftp://127.0.0.1/x
//   /redirect-chain/N  N = 1..20: 302 -> /redirect-chain/N-1; /redirect-chain/0: 200 "end\n"
//   /auth-basic        basic auth user "probe" password "s3cret-pw", then 200 "auth ok\n"
//   /auth-bearer       200 "bearer ok\n" iff "Authorization: Bearer tok3n-value", else 401
//   /echo-headers      200 "x-probe=<X-Probe header>\n"
//   /method            200 "method=<request method>\n" (any method, incl. POST with a body)
//   /big               8 MiB (8388608 bytes) application/octet-stream, byte i = i % 251
//   anything else      404
// Redirect Location headers are absolute (nginx default), e.g. http://127.0.0.1:PORT/healthz.
class Nginx {
 public:
  // Writes DIR/nginx.conf and starts nginx; each server listens on its own free port on
  // 127.0.0.1. Waits until every port accepts TCP (10 s). Throws std::runtime_error with the
  // error log if nginx exits or never listens (retries a few times on port races).
  explicit Nginx(std::vector<NginxServer> servers);
  ~Nginx();  // SIGTERM (then SIGKILL), removes the temp dir (unless PROBED_KEEP_TEST_DIRS)
  Nginx(const Nginx&) = delete;
  Nginx& operator=(const Nginx&) = delete;

  int port(const std::string& server_name) const;  // throws std::out_of_range if unknown
  // http(s)://127.0.0.1:PORT/path ("/" is prepended to `path` if missing).
  std::string url(const std::string& server_name, const std::string& path = "/") const;
  const std::string& access_log() const;  // path; "$remote_addr $request $status $ssl_protocol"
  size_t access_log_lines() const;        // one line per completed request
  std::string access_log_content() const;
  std::string error_log_content() const;  // error.log + nginx's stderr
  const std::string& dir() const;
  bool running();

 private:
  std::string render_config() const;
  std::string render_server(const NginxServer& s, int port) const;
  bool start(std::string* why);

  TempDir dir_;
  std::vector<NginxServer> servers_;
  std::map<std::string, int> ports_;
  std::string access_log_;
  std::string error_log_;
  std::string stderr_log_;
  Process process_;
};

}  // namespace probed::testing

#endif  // PROBED_TESTS_HARNESS_NGINX_H_
