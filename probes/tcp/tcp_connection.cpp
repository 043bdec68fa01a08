#include "probes/tcp/tcp_connection.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "probes/tcp/expect.h"

namespace probed::probes {
namespace {

std::string ssl_error_text() {
  unsigned long e = ERR_get_error();
  if (e == 0) return "connection closed by peer";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

}  // namespace

const char* TcpConnection::state() const {
  switch (op_) {
    case Op::Connect: return "connect";
    case Op::Handshake: return "tls handshake";
    case Op::Write: return "write";
    case Op::Read: return "read";
    default: return "idle";
  }
}

void TcpConnection::close() {
  ++gen_;
  // A new connection starts empty: the probe object lives across runs, and bytes left over
  // from a failed run must never be matched by the next one's expect.
  in_.clear();
  out_.clear();
  re_ = nullptr;
  if (ssl_ != nullptr) {
    SSL_free(ssl_);
    ssl_ = nullptr;
  }
  if (fd_ >= 0) {
    loop_.unwatch(fd_);
    ::close(fd_);
    fd_ = -1;
  }
  op_ = Op::None;
}

void TcpConnection::complete(std::string error) {
  Op op = op_;
  op_ = Op::None;
  if (fd_ >= 0) loop_.unwatch(fd_);
  // Deliver on the next iteration, never inside connect()/read_until() or an fd callback
  // that might destroy us.
  loop_.defer([this, gen = gen_, op, error = std::move(error)]() mutable {
    if (gen != gen_) return;
    if (op == Op::Read) {
      auto fn = std::move(read_done_);
      std::string data = error.empty() ? std::move(in_) : in_;
      if (error.empty()) in_.clear();
      fn(std::move(error), std::move(data));
    } else {
      auto fn = std::move(done_);
      fn(std::move(error));
    }
  });
}

void TcpConnection::arm(io::Interest in) {
  auto ok = loop_.watch(fd_, in, [this](uint32_t ev) { on_event(ev); });
  if (!ok) complete(ok.error());
}

void TcpConnection::on_event(uint32_t /*ev*/) {
  switch (op_) {
    case Op::Connect: return step_connect();
    case Op::Handshake: return step_handshake();
    case Op::Write: return step_write();
    case Op::Read: return step_read();
    default: loop_.unwatch(fd_);
  }
}

void TcpConnection::connect(const std::string& address, int port, Done done) {
  close();
  done_ = std::move(done);
  op_ = Op::Connect;
  sockaddr_storage ss{};
  socklen_t len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, address.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    len = sizeof *v4;
  } else if (inet_pton(AF_INET6, address.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    len = sizeof *v6;
  } else {
    return complete("not an IP address: " + address);
  }
  fd_ = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    socket_errno_ = errno;
    return complete(std::string("socket: ") + std::strerror(errno));
  }
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&ss), len) == 0) return complete("");
  if (errno != EINPROGRESS) {
    socket_errno_ = errno;
    return complete(std::strerror(errno));
  }
  arm(io::Interest::Write);
}

void TcpConnection::step_connect() {
  int err = 0;
  socklen_t len = sizeof err;
  getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
  socket_errno_ = err;
  complete(err == 0 ? "" : std::strerror(err));
}

bool TcpConnection::want(int ssl_err) {
  if (ssl_err == SSL_ERROR_WANT_READ) {
    arm(io::Interest::Read);
    return true;
  }
  if (ssl_err == SSL_ERROR_WANT_WRITE) {
    arm(io::Interest::Write);
    return true;
  }
  return false;
}

void TcpConnection::start_tls(SSL_CTX* ctx, const std::string& name, TlsObservation* obs, Done done) {
  done_ = std::move(done);
  op_ = Op::Handshake;
  ssl_ = new_client_ssl(ctx, name, obs);
  if (ssl_ == nullptr || SSL_set_fd(ssl_, fd_) != 1) return complete("cannot create TLS session");
  step_handshake();
}

void TcpConnection::step_handshake() {
  ERR_clear_error();
  int rc = SSL_connect(ssl_);
  if (rc == 1) return complete("");
  int err = SSL_get_error(ssl_, rc);
  if (want(err)) return;
  complete(ssl_error_text());
}

void TcpConnection::write(std::string data, Done done) {
  done_ = std::move(done);
  op_ = Op::Write;
  out_ = std::move(data);
  step_write();
}

void TcpConnection::step_write() {
  while (!out_.empty()) {
    ssize_t n;
    if (ssl_ != nullptr) {
      ERR_clear_error();
      int rc = SSL_write(ssl_, out_.data(), static_cast<int>(out_.size()));
      if (rc <= 0) {
        int err = SSL_get_error(ssl_, rc);
        if (want(err)) return;
        return complete("write: " + ssl_error_text());
      }
      n = rc;
    } else {
      n = ::send(fd_, out_.data(), out_.size(), MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) return arm(io::Interest::Write);
        return complete(std::string("write: ") + std::strerror(errno));
      }
    }
    out_.erase(0, static_cast<size_t>(n));
  }
  complete("");
}

void TcpConnection::read_until(const Regex& re, size_t cap, ReadDone done) {
  read_done_ = std::move(done);
  op_ = Op::Read;
  re_ = &re;
  cap_ = cap;
  if (!in_.empty() && re_->search(in_)) return complete("");
  step_read();
}

void TcpConnection::step_read() {
  char buf[4096];
  for (;;) {
    ssize_t n;
    if (ssl_ != nullptr) {
      ERR_clear_error();
      int rc = SSL_read(ssl_, buf, sizeof buf);
      if (rc <= 0) {
        int err = SSL_get_error(ssl_, rc);
        if (want(err)) return;
        return complete(err == SSL_ERROR_ZERO_RETURN ? "connection closed" : "read: " + ssl_error_text());
      }
      n = rc;
    } else {
      n = ::recv(fd_, buf, sizeof buf, 0);
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) return arm(io::Interest::Read);
        return complete(std::string("read: ") + std::strerror(errno));
      }
      if (n == 0) return complete("connection closed");
    }
    switch (expect_feed(in_, std::string_view(buf, static_cast<size_t>(n)), *re_, cap_)) {
      case ExpectVerdict::Matched: return complete("");
      case ExpectVerdict::CapReached: return complete(expect_cap_error(cap_));
      case ExpectVerdict::NeedMore: break;
    }
  }
}

}  // namespace probed::probes
