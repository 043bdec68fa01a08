#include "tests/harness/nginx.h"

#include <algorithm>
#include <filesystem>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace probed::testing {
namespace {

using std::chrono::milliseconds;

constexpr const char* kNginxBinary = "/usr/sbin/nginx";
constexpr size_t kBigFileSize = 8u << 20;
constexpr int kRedirectChainMax = 20;
constexpr int kStatusCodes[] = {200, 201, 204, 301, 302, 400, 401, 403,
                                404, 418, 429, 500, 502, 503, 504};

void make_dir(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) throw std::runtime_error("nginx: cannot create " + path + ": " + ec.message());
}

// The locations every server gets; `www` is the static root.
std::string default_locations(const std::string& www) {
  std::ostringstream c;
  c << "    location = / { default_type text/plain; return 200 \"hello from nginx\\n\"; }\n"
    << "    location = /healthz {\n"
    << "      default_type application/json;\n"
    << "      return 200 '{\"status\":\"up\",\"items\":[{\"sku\":\"A1\"}]}';\n"
    << "    }\n";
  for (int code : kStatusCodes) {
    c << "    location = /status/" << code << " { ";
    if (code == 301 || code == 302) {
      c << "return " << code << " /healthz; }\n";
    } else {
      c << "default_type text/plain; return " << code << " \"status " << code << "\\n\"; }\n";
    }
  }
  c << "    location = /redirect { return 302 /healthz; }\n"
    << "    location = /redirect-loop { return 302 /redirect-loop2; }\n"
    << "    location = /redirect-loop2 { return 302 /redirect-loop; }\n"
    << "    location = /redirect-ftp { return 302 ftp://127.0.0.1/x; }\n"
    << "    location = /redirect-chain/0 { default_type text/plain; return 200 \"end\\n\"; }\n";
  for (int n = 1; n <= kRedirectChainMax; ++n) {
    c << "    location = /redirect-chain/" << n << " { return 302 /redirect-chain/" << n - 1
      << "; }\n";
  }
  // `return` runs in the rewrite phase, before auth_basic's access phase, so the protected
  // location serves a static file instead.
  c << "    location = /auth-basic {\n"
    << "      auth_basic \"probed\";\n"
    << "      auth_basic_user_file " << www << "/../htpasswd;\n"
    << "      default_type text/plain;\n"
    << "      alias " << www << "/auth-ok.txt;\n"
    << "    }\n"
    << "    location = /auth-bearer {\n"
    << "      default_type text/plain;\n"
    << "      if ($http_authorization != \"Bearer tok3n-value\") { return 401; }\n"
    << "      return 200 \"bearer ok\\n\";\n"
    << "    }\n"
    << "    location = /echo-headers {\n"
    << "      default_type text/plain; return 200 \"x-probe=$http_x_probe\\n\";\n"
    << "    }\n"
    << "    location = /method { default_type text/plain; return 200 "
       "\"method=$request_method\\n\"; }\n"
    << "    location = /big { default_type application/octet-stream; alias " << www
    << "/big.bin; }\n";
  return c.str();
}

}  // namespace

Nginx::Nginx(std::vector<NginxServer> servers)
    : dir_("probed-nginx-"), servers_(std::move(servers)) {
  if (servers_.empty()) throw std::runtime_error("Nginx: no servers");
  const std::string& d = dir_.path();
  access_log_ = d + "/access.log";
  error_log_ = d + "/error.log";
  stderr_log_ = d + "/nginx.stderr";
  for (const char* sub :
       {"www", "tmp/client_body", "tmp/proxy", "tmp/fastcgi", "tmp/uwsgi", "tmp/scgi", "logs"}) {
    make_dir(d + "/" + sub);
  }
  std::string big(kBigFileSize, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i % 251);
  write_file(d + "/www/big.bin", big);
  write_file(d + "/www/auth-ok.txt", "auth ok\n");
  write_file(d + "/htpasswd", "probe:{PLAIN}s3cret-pw\n");

  std::string why;
  for (int attempt = 0; attempt < 4; ++attempt) {
    if (start(&why)) return;
    if (why.find("Address already in use") == std::string::npos) break;  // not a port race
  }
  throw std::runtime_error(why);
}

Nginx::~Nginx() { process_.stop(); }

bool Nginx::start(std::string* why) {
  ports_.clear();
  for (const auto& s : servers_) {
    if (ports_.count(s.name) != 0) throw std::runtime_error("Nginx: duplicate server " + s.name);
    ports_[s.name] = free_port();
  }
  write_file(dir_.path() + "/nginx.conf", render_config());
  write_file(error_log_, "");
  write_file(stderr_log_, "");

  ProcessOptions opts;
  opts.stdout_path = stderr_log_;
  opts.stderr_path = stderr_log_;
  process_ = Process::spawn({kNginxBinary, "-p", dir_.path() + "/", "-c",
                             dir_.path() + "/nginx.conf", "-g", "daemon off; master_process off;"},
                            opts);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (const auto& [name, port] : ports_) {
    for (;;) {
      if (!process_.running()) {
        *why = "nginx exited (status " + std::to_string(process_.raw_status()) +
               ") before listening on port " + std::to_string(port) + " (server " + name + ");\n" +
               error_log_content();
        return false;
      }
      if (wait_for_tcp("127.0.0.1", port, milliseconds(100))) break;
      if (std::chrono::steady_clock::now() >= deadline) {
        process_.stop();
        *why = "nginx did not listen on port " + std::to_string(port) + " within 10 s;\n" +
               error_log_content();
        return false;
      }
    }
  }
  return true;
}

std::string Nginx::render_config() const {
  const std::string& d = dir_.path();
  std::ostringstream c;
  c << "# generated by probed::testing::Nginx\n"
    << "pid " << d << "/nginx.pid;\n"
    << "error_log " << error_log_ << " info;\n"
    << "events { worker_connections 1024; }\n"
    << "http {\n"
    << "  default_type application/octet-stream;\n"
    << "  log_format probed '$remote_addr $request $status $ssl_protocol';\n"
    << "  access_log " << access_log_ << " probed;\n"
    << "  client_body_temp_path " << d << "/tmp/client_body;\n"
    << "  proxy_temp_path " << d << "/tmp/proxy;\n"
    << "  fastcgi_temp_path " << d << "/tmp/fastcgi;\n"
    << "  uwsgi_temp_path " << d << "/tmp/uwsgi;\n"
    << "  scgi_temp_path " << d << "/tmp/scgi;\n"
    << "  sendfile on;\n"
    << "  keepalive_timeout 30s;\n";
  for (const auto& s : servers_) c << render_server(s, ports_.at(s.name));
  c << "}\n";
  return c.str();
}

std::string Nginx::render_server(const NginxServer& s, int port) const {
  std::ostringstream c;
  c << "  server {  # " << s.name << "\n"
    << "    listen 127.0.0.1:" << port << (s.tls ? " ssl" : "") << (s.http2 ? " http2" : "") << ";\n"
    << "    server_name localhost;\n"
    << "    root " << dir_.path() << "/www;\n";
  if (s.tls) {
    if (s.cert_chain_path.empty() || s.key_path.empty()) {
      throw std::runtime_error("Nginx: TLS server " + s.name + " needs cert_chain_path/key_path");
    }
    c << "    ssl_certificate " << s.cert_chain_path << ";\n"
      << "    ssl_certificate_key " << s.key_path << ";\n"
      << "    ssl_protocols " << s.ssl_protocols << ";\n";
    const std::string p = " " + s.ssl_protocols + " ";
    if (p.find(" TLSv1 ") != std::string::npos || p.find(" TLSv1.1 ") != std::string::npos) {
      c << "    ssl_ciphers DEFAULT:@SECLEVEL=0;\n";  // OpenSSL 3 refuses < TLS 1.2 otherwise
    }
    if (!s.client_ca_path.empty()) {
      c << "    ssl_client_certificate " << s.client_ca_path << ";\n"
        << "    ssl_verify_client on;\n"
        << "    ssl_verify_depth 4;\n";
    }
  }
  c << default_locations(dir_.path() + "/www") << s.extra_locations << "\n  }\n";
  return c.str();
}

int Nginx::port(const std::string& server_name) const { return ports_.at(server_name); }

std::string Nginx::url(const std::string& server_name, const std::string& path) const {
  bool tls = false;
  for (const auto& s : servers_) {
    if (s.name == server_name) tls = s.tls;
  }
  std::string p = (path.empty() || path[0] != '/') ? "/" + path : path;
  return std::string(tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(port(server_name)) +
         p;
}

const std::string& Nginx::access_log() const { return access_log_; }

size_t Nginx::access_log_lines() const {
  std::string content = read_file(access_log_);
  return static_cast<size_t>(std::count(content.begin(), content.end(), '\n'));
}

std::string Nginx::access_log_content() const { return read_file(access_log_); }

std::string Nginx::error_log_content() const {
  return "--- " + error_log_ + " ---\n" + read_file(error_log_) + "--- nginx stderr ---\n" +
         read_file(stderr_log_);
}

const std::string& Nginx::dir() const { return dir_.path(); }

bool Nginx::running() { return process_.running(); }

NginxServer tls_server(const std::string& name, const IssuedCert& cert,
                       const std::string& client_ca) {
  NginxServer s;
  s.name = name;
  s.tls = true;
  s.cert_chain_path = cert.chain_path;
  s.key_path = cert.key_path;
  s.client_ca_path = client_ca;
  return s;
}

std::vector<NginxServer> standard_tls_servers(const StandardCerts& certs, const Pki& pki) {
  NginxServer plain;
  plain.name = "plain";
  auto tls10 = tls_server("tls10", certs.valid);
  tls10.ssl_protocols = "TLSv1";
  return {plain,
          tls_server("valid", certs.valid),
          tls_server("expired", certs.expired),
          tls_server("expiring", certs.expiring_3d),
          tls_server("notyet", certs.not_yet_valid),
          tls_server("wronghost", certs.wrong_host),
          tls_server("selfsigned", certs.self_signed),
          tls_server("interm", certs.intermediate_expiring_first),
          tls_server("mtls", certs.valid, pki.ca_path()),
          tls10};
}

}  // namespace probed::testing
