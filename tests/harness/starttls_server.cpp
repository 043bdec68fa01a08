#include "tests/harness/starttls_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string_view>

namespace probed::testing {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// A connection that stalls is dropped after this; the client's check timeout is shorter.
constexpr auto kConnTimeout = milliseconds(5000);
// After sending the last bytes, how long to wait for the client's EOF before closing (closing
// with unread input would RST and could destroy what was just sent).
constexpr auto kDrainTimeout = milliseconds(1000);
constexpr size_t kMaxLine = 1024;
const char kSslRequest[] = "\x00\x00\x00\x08\x04\xd2\x16\x2f";  // length 8, code 80877103

struct Exchange {
  const char* command;  // expected line prefix, case-insensitive
  const char* reply;
};

struct Script {
  const char* greeting;
  std::vector<Exchange> exchanges;  // the last one is the STARTTLS request
  const char* refusal;
};

// The server side of each exchange in probes/tcp/conversation.cpp starttls_steps().
const Script* find_script(const std::string& protocol) {
  static const Script smtp{
      "220 test ESMTP\r\n",
      {{"EHLO ", "250-test\r\n250 STARTTLS\r\n"}, {"STARTTLS", "220 go ahead\r\n"}},
      "454 TLS not available\r\n"};
  static const Script imap{"* OK IMAP4rev1 ready\r\n",
                           {{"a001 STARTTLS", "a001 OK begin TLS\r\n"}},
                           "a001 NO TLS not available\r\n"};
  static const Script pop3{
      "+OK ready\r\n", {{"STLS", "+OK begin TLS\r\n"}}, "-ERR TLS not available\r\n"};
  static const Script ftp{
      "220 ready\r\n", {{"AUTH TLS", "234 AUTH TLS ok\r\n"}}, "534 TLS not available\r\n"};
  if (protocol == "smtp") return &smtp;
  if (protocol == "imap") return &imap;
  if (protocol == "pop3") return &pop3;
  if (protocol == "ftp") return &ftp;
  return nullptr;
}

std::string errno_message(const char* what) {
  return std::string("StarttlsServer: ") + what + ": " + std::strerror(errno);
}

std::string openssl_message(const std::string& what) {
  std::string msg = "StarttlsServer: " + what;
  unsigned long e;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    msg += ": ";
    msg += buf;
  }
  return msg;
}

}  // namespace

// One accepted, non-blocking connection. Every wait polls the socket together with the wake
// eventfd, so the destructor's wake-up ends any exchange at once.
struct StarttlsServer::Conn {
  int fd = -1;
  int wake_fd = -1;
  SSL* ssl = nullptr;
  Clock::time_point deadline = Clock::now() + kConnTimeout;

  ~Conn() {
    if (ssl != nullptr) SSL_free(ssl);
    if (fd >= 0) ::close(fd);
  }

  // Waits until fd is ready for `events`; false on a stop request, `until` or a poll error.
  bool wait(short events, Clock::time_point until) const {
    for (;;) {
      auto left = std::chrono::duration_cast<milliseconds>(until - Clock::now()).count();
      if (left <= 0) return false;
      pollfd p[2] = {{fd, events, 0}, {wake_fd, POLLIN, 0}};
      int r = ::poll(p, 2, static_cast<int>(left));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0 || p[1].revents != 0) return false;
      if (p[0].revents != 0) return true;
    }
  }

  bool send_all(std::string_view data) const {
    while (!data.empty()) {
      ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
      if (n > 0) {
        data.remove_prefix(static_cast<size_t>(n));
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        if (!wait(POLLOUT, deadline)) return false;
      } else {
        return false;
      }
    }
    return true;
  }

  // Reads exactly n bytes. One recv at a time of only what is still wanted: never past the
  // request, since the client's ClientHello may follow it.
  bool read_exact(size_t n, std::string& out) const {
    out.clear();
    char buf[kMaxLine];
    while (out.size() < n) {
      ssize_t r = ::recv(fd, buf, std::min(sizeof(buf), n - out.size()), 0);
      if (r > 0) {
        out.append(buf, static_cast<size_t>(r));
      } else if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        if (!wait(POLLIN, deadline)) return false;
      } else {
        return false;  // EOF or error
      }
    }
    return true;
  }

  // Reads one line byte by byte (same reason) and strips its CRLF.
  bool read_line(std::string& line) const {
    line.clear();
    std::string c;
    while (line.size() < kMaxLine) {
      if (!read_exact(1, c)) return false;
      if (c[0] == '\n') {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        return true;
      }
      line += c[0];
    }
    return false;
  }

  // After an SSL call returned rc <= 0: waits when OpenSSL wants I/O; false when it failed.
  bool ssl_retry(int rc) const {
    switch (SSL_get_error(ssl, rc)) {
      case SSL_ERROR_WANT_READ:
        return wait(POLLIN, deadline);
      case SSL_ERROR_WANT_WRITE:
        return wait(POLLOUT, deadline);
      default:
        ERR_clear_error();
        return false;
    }
  }

  // No more output; waits (bounded) for the client to close first, reading what it sends.
  void finish_gracefully() const {
    ::shutdown(fd, SHUT_WR);
    auto until = std::min(deadline, Clock::now() + kDrainTimeout);
    char buf[4096];
    while (wait(POLLIN, until)) {
      ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) return;
    }
  }
};

StarttlsServer::StarttlsServer(StarttlsOptions options) : options_(std::move(options)) {
  if (options_.protocol != "postgres" && find_script(options_.protocol) == nullptr) {
    throw std::invalid_argument("StarttlsServer: unknown protocol " + options_.protocol);
  }
  ctx_ = SSL_CTX_new(TLS_server_method());
  if (ctx_ == nullptr) throw std::runtime_error(openssl_message("SSL_CTX_new"));
  SSL_CTX_set_num_tickets(ctx_, 0);  // nothing unsolicited after the handshake
  if (SSL_CTX_use_certificate_chain_file(ctx_, options_.cert_chain_path.c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx_, options_.key_path.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(ctx_) != 1) {
    std::string msg =
        openssl_message("cannot load " + options_.cert_chain_path + " / " + options_.key_path);
    SSL_CTX_free(ctx_);
    throw std::runtime_error(msg);
  }
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
      ::listen(listen_fd_, 16) != 0 || (wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
    std::string msg = errno_message("socket/bind/listen/eventfd");
    if (listen_fd_ >= 0) ::close(listen_fd_);
    SSL_CTX_free(ctx_);
    throw std::runtime_error(msg);
  }
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { run(); });
}

StarttlsServer::~StarttlsServer() {
  uint64_t one = 1;
  ssize_t ignored = ::write(wake_fd_, &one, sizeof(one));
  (void)ignored;
  if (thread_.joinable()) thread_.join();
  ::close(wake_fd_);
  ::close(listen_fd_);
  SSL_CTX_free(ctx_);
}

std::vector<std::string> StarttlsServer::commands() const {
  std::lock_guard<std::mutex> lock(commands_mu_);
  return commands_;
}

void StarttlsServer::record(std::string command) {
  std::lock_guard<std::mutex> lock(commands_mu_);
  commands_.push_back(std::move(command));
}

void StarttlsServer::run() {
  // SSL_write uses write(): a client that went away must give EPIPE, not kill the test.
  sigset_t pipe;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
  for (;;) {
    pollfd p[2] = {{wake_fd_, POLLIN, 0}, {listen_fd_, POLLIN, 0}};
    int r = ::poll(p, 2, -1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 || p[0].revents != 0) return;  // the destructor asked us to stop
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) continue;
    connections_.fetch_add(1);
    Conn c;
    c.fd = fd;
    c.wake_fd = wake_fd_;
    serve(c);
  }
}

bool StarttlsServer::exchange(Conn& c) {
  if (options_.protocol == "postgres") {
    std::string request;
    if (!c.read_exact(8, request)) return false;
    bool ok = request == std::string(kSslRequest, 8);
    record(ok ? "SSLRequest" : "bad SSLRequest");
    if (!ok) return false;
    if (options_.refuse) {
      c.send_all("N");
      return false;
    }
    return c.send_all("S");
  }
  const Script& script = *find_script(options_.protocol);
  if (!c.send_all(script.greeting)) return false;
  for (size_t i = 0; i < script.exchanges.size(); ++i) {
    const Exchange& x = script.exchanges[i];
    std::string line;
    if (!c.read_line(line)) return false;
    record(line);
    if (strncasecmp(line.c_str(), x.command, std::strlen(x.command)) != 0) return false;
    bool starttls_request = i + 1 == script.exchanges.size();
    if (starttls_request && options_.refuse) {
      c.send_all(script.refusal);
      return false;
    }
    if (!c.send_all(x.reply)) return false;
  }
  return true;
}

void StarttlsServer::serve(Conn& c) {
  if (!exchange(c)) return c.finish_gracefully();
  c.ssl = SSL_new(ctx_);
  if (c.ssl == nullptr || SSL_set_fd(c.ssl, c.fd) != 1) {
    ERR_clear_error();
    return;
  }
  for (;;) {
    ERR_clear_error();
    int rc = SSL_accept(c.ssl);
    if (rc == 1) break;
    if (!c.ssl_retry(rc)) return;  // e.g. the client rejected the certificate
  }
  handshakes_.fetch_add(1);
  const std::string& text = options_.after_tls;
  for (size_t off = 0; off < text.size();) {
    ERR_clear_error();
    int rc = SSL_write(c.ssl, text.data() + off, static_cast<int>(text.size() - off));
    if (rc > 0) {
      off += static_cast<size_t>(rc);
    } else if (!c.ssl_retry(rc)) {
      return;
    }
  }
  ERR_clear_error();
  SSL_shutdown(c.ssl);  // send close_notify; the client's is not awaited
  ERR_clear_error();
  c.finish_gracefully();
}

}  // namespace probed::testing
