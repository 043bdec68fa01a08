#include "tests/harness/dns_fault_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <stdexcept>

namespace probed::testing {
namespace {

using Bytes = std::vector<unsigned char>;
using Clock = std::chrono::steady_clock;

constexpr int kBindAttempts = 20;
constexpr uint32_t kTtl = 60;
constexpr char kGarbage[] = "this is not a DNS message\r\n";

std::string errno_message(const char* what) {
  return std::string("DnsFaultServer: ") + what + ": " + std::strerror(errno);
}

void put16(Bytes& b, unsigned v) {
  b.push_back(static_cast<unsigned char>(v >> 8));
  b.push_back(static_cast<unsigned char>(v));
}

Bytes wire_name(const std::string& name) {
  Bytes out;
  size_t start = 0;
  while (start < name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    out.push_back(static_cast<unsigned char>(dot - start));
    out.insert(out.end(), name.begin() + static_cast<long>(start),
               name.begin() + static_cast<long>(dot));
    start = dot + 1;
  }
  out.push_back(0);
  return out;
}

// Offset just past the first question (queries carry uncompressed names), 0 if malformed.
size_t question_end(const Bytes& q) {
  size_t at = 12;
  while (at < q.size()) {
    unsigned len = q[at];
    if (len == 0) return at + 5 <= q.size() ? at + 5 : 0;
    if (len > 63) return 0;
    at += 1 + len;
  }
  return 0;
}

void append_address(Bytes& out, const std::string& a) {
  unsigned char buf[16];
  bool v6 = inet_pton(AF_INET6, a.c_str(), buf) == 1;
  if (!v6 && inet_pton(AF_INET, a.c_str(), buf) != 1) return;
  put16(out, 0xc00c);  // the question's name
  put16(out, v6 ? 28 : 1);
  put16(out, 1);
  put16(out, kTtl >> 16);
  put16(out, kTtl & 0xffff);
  put16(out, v6 ? 16 : 4);
  out.insert(out.end(), buf, buf + (v6 ? 16 : 4));
}

// Binds a socket of `type` on 127.0.0.1:port (0: any); returns the fd or -1.
int bind_loopback(int type, int port) {
  int fd = ::socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int one = 1;
  if (type == SOCK_STREAM) ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      (type == SOCK_STREAM && ::listen(fd, 16) != 0)) {
    ::close(fd);
    return -1;
  }
  return fd;
}

int local_port(int fd) {
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return ntohs(addr.sin_port);
}

}  // namespace

struct DnsFaultServer::Conn {
  int fd = -1;
  Bytes in;
};

struct DnsFaultServer::Pending {
  Clock::time_point due;
  int tcp_fd = -1;  // -1: UDP to `to`
  sockaddr_in to{};
  Bytes bytes;
};

DnsFaultServer::DnsFaultServer(DnsFaultSpec spec) : spec_(std::move(spec)) {
  // UDP first (port 0), then TCP on the same number; another process may hold that TCP port.
  for (int i = 0; i < kBindAttempts && tcp_fd_ < 0; ++i) {
    udp_fd_ = bind_loopback(SOCK_DGRAM, 0);
    if (udp_fd_ < 0) throw std::runtime_error(errno_message("udp bind"));
    port_ = local_port(udp_fd_);
    tcp_fd_ = bind_loopback(SOCK_STREAM, port_);
    if (tcp_fd_ < 0) ::close(udp_fd_);
  }
  if (tcp_fd_ < 0) throw std::runtime_error(errno_message("tcp bind"));
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) {
    std::string msg = errno_message("eventfd");
    ::close(udp_fd_);
    ::close(tcp_fd_);
    throw std::runtime_error(msg);
  }
  thread_ = std::thread([this] { run(); });
}

DnsFaultServer::~DnsFaultServer() {
  uint64_t one = 1;
  ssize_t ignored = ::write(wake_fd_, &one, sizeof one);
  (void)ignored;
  if (thread_.joinable()) thread_.join();
  ::close(wake_fd_);
  ::close(udp_fd_);
  ::close(tcp_fd_);
}

std::vector<unsigned char> DnsFaultServer::reply_for(const std::vector<unsigned char>& query,
                                                     bool tcp) const {
  size_t qend = question_end(query);
  if (query.size() < 12 || qend == 0 || spec_.mode == DnsFault::Silent) return {};
  if (spec_.mode == DnsFault::Garbage) return Bytes(kGarbage, kGarbage + sizeof kGarbage - 1);
  Bytes question(query.begin() + 12, query.begin() + static_cast<long>(qend));
  if (spec_.mode == DnsFault::WrongQname) {
    question = wire_name("wrong.example.test");
    question.insert(question.end(), query.begin() + static_cast<long>(qend) - 4,
                    query.begin() + static_cast<long>(qend));
  }
  unsigned id = static_cast<unsigned>(query[0] << 8 | query[1]);
  if (spec_.mode == DnsFault::WrongId) id = (id + 1) & 0xffff;
  unsigned flags = 0x8000 | ((query[2] & 0x01u) << 8) | 0x0080;  // QR, RD echoed, RA
  Bytes records;
  unsigned ancount = 0;
  if (spec_.mode == DnsFault::Rcode) {
    flags |= static_cast<unsigned>(spec_.rcode) & 0x0f;
  } else if (spec_.mode == DnsFault::Truncated && !tcp) {
    flags |= 0x0200;  // TC: "ask again over TCP" (RFC 1035 §4.2.1)
  } else if (spec_.mode == DnsFault::Malformed) {
    put16(records, 0xc00c);  // a name, then nothing: type, class, TTL and data are missing
    ancount = 1;
  } else {
    for (const auto& a : spec_.addresses) append_address(records, a);
    ancount = static_cast<unsigned>(spec_.addresses.size());
  }
  Bytes out;
  put16(out, id);
  put16(out, flags);
  put16(out, 1);
  put16(out, ancount);
  put16(out, 0);
  put16(out, 0);
  out.insert(out.end(), question.begin(), question.end());
  out.insert(out.end(), records.begin(), records.end());
  return out;
}

void DnsFaultServer::send_now(const Pending& p) {
  if (p.tcp_fd >= 0) {
    ::send(p.tcp_fd, p.bytes.data(), p.bytes.size(), MSG_NOSIGNAL);
  } else {
    ::sendto(udp_fd_, p.bytes.data(), p.bytes.size(), 0, reinterpret_cast<const sockaddr*>(&p.to),
             sizeof p.to);
  }
}

void DnsFaultServer::answer(Pending p) {
  if (p.bytes.empty()) return;
  if (spec_.mode != DnsFault::Slow) return send_now(p);
  p.due = Clock::now() + spec_.delay;
  pending_.push_back(std::move(p));
}

void DnsFaultServer::read_udp() {
  unsigned char buf[4096];
  Pending p;
  socklen_t len = sizeof p.to;
  ssize_t n = ::recvfrom(udp_fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&p.to), &len);
  if (n < 4) return;
  ++udp_queries_;
  last_flags_ = buf[2] << 8 | buf[3];
  p.bytes = reply_for(Bytes(buf, buf + n), false);
  answer(std::move(p));
}

void DnsFaultServer::read_tcp(Conn& c) {
  unsigned char buf[4096];
  ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
  if (n <= 0) {
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    // A closed connection's late replies go nowhere (and its fd number may be reused).
    pending_.erase(std::remove_if(pending_.begin(), pending_.end(),
                                  [&](const Pending& p) { return p.tcp_fd == c.fd; }),
                   pending_.end());
    ::close(c.fd);
    c.fd = -1;
    return;
  }
  c.in.insert(c.in.end(), buf, buf + n);
  // TCP messages carry a two-byte length prefix (RFC 1035 §4.2.2).
  while (c.in.size() >= 2 && c.in.size() >= 2u + (c.in[0] << 8 | c.in[1])) {
    auto end = c.in.begin() + 2 + (c.in[0] << 8 | c.in[1]);
    Bytes msg(c.in.begin() + 2, end);
    c.in.erase(c.in.begin(), end);
    ++tcp_queries_;
    if (msg.size() >= 4) last_flags_ = msg[2] << 8 | msg[3];
    Bytes reply = reply_for(msg, true);
    if (reply.empty()) continue;
    Pending p;
    p.tcp_fd = c.fd;
    put16(p.bytes, static_cast<unsigned>(reply.size()));
    p.bytes.insert(p.bytes.end(), reply.begin(), reply.end());
    answer(std::move(p));
  }
}

void DnsFaultServer::run() {
  for (;;) {
    std::vector<pollfd> fds = {{wake_fd_, POLLIN, 0}, {udp_fd_, POLLIN, 0}, {tcp_fd_, POLLIN, 0}};
    for (const auto& c : conns_) fds.push_back({c.fd, POLLIN, 0});
    auto now = Clock::now();
    int timeout = -1;  // until the earliest late reply is due
    for (const auto& p : pending_) {
      auto ms = std::chrono::ceil<std::chrono::milliseconds>(p.due - now).count();
      int t = static_cast<int>(std::max<int64_t>(ms, 0));
      timeout = timeout < 0 ? t : std::min(timeout, t);
    }
    if (::poll(fds.data(), fds.size(), timeout) < 0 && errno != EINTR) break;
    if (fds[0].revents != 0) break;
    now = Clock::now();
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (it->due > now) {
        ++it;
        continue;
      }
      send_now(*it);
      it = pending_.erase(it);
    }
    if (fds[1].revents & POLLIN) read_udp();
    if (fds[2].revents & POLLIN) {
      int fd = ::accept4(tcp_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd >= 0) conns_.push_back({fd, {}});
    }
    for (size_t i = 3; i < fds.size(); ++i) {
      if (fds[i].revents != 0) read_tcp(conns_[i - 3]);
    }
    conns_.erase(
        std::remove_if(conns_.begin(), conns_.end(), [](const Conn& c) { return c.fd < 0; }),
        conns_.end());
  }
  for (const auto& c : conns_) ::close(c.fd);
  conns_.clear();
}

}  // namespace probed::testing
