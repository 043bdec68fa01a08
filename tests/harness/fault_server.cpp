#include "tests/harness/fault_server.h"

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
#include <memory>
#include <stdexcept>

namespace probed::testing {

const char kDefaultFaultResponse[] =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n"
    "Connection: close\r\n\r\nok\n";

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr size_t kMaxRequest = 64 * 1024;
constexpr size_t kChunkSize = 64 * 1024;
constexpr uint64_t kHugeBodySize = 1ULL << 30;
constexpr auto kResetDelay = milliseconds(100);
constexpr auto kDrainTimeout = milliseconds(2000);

const std::string& endless_chunk() {
  static const std::string chunk = "10000\r\n" + std::string(kChunkSize, 'x') + "\r\n";
  return chunk;
}

std::string errno_message(const char* what) {
  return std::string("FaultServer: ") + what + ": " + std::strerror(errno);
}

}  // namespace

struct FaultServer::Conn {
  enum class Phase {
    kReading,
    kSilent,
    kWriting,
    kDripping,
    kDelaying,
    kResetPending,
    kDraining,
    kDone
  };
  enum class Then { kClose, kReset, kChunks, kZeros };

  int fd = -1;
  Phase phase = Phase::kReading;
  Then then = Then::kClose;
  bool read_eof = false;
  std::string in;
  std::string out;
  size_t off = 0;
  uint64_t zeros_left = 0;
  Clock::time_point deadline = Clock::time_point::max();

  void close_now(bool reset) {
    if (fd >= 0) {
      if (reset) {
        linger lg{1, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
      }
      ::close(fd);
    }
    fd = -1;
    phase = Phase::kDone;
    deadline = Clock::time_point::max();
  }

  // Sends pending output until EAGAIN or drained; false if the connection died.
  bool flush() {
    while (off < out.size()) {
      ssize_t n = ::send(fd, out.data() + off, out.size() - off, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        off += static_cast<size_t>(n);
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        return true;
      } else {
        close_now(false);
        return false;
      }
    }
    return true;
  }
};

FaultServer::FaultServer(FaultSpec spec) : spec_(std::move(spec)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw std::runtime_error(errno_message("socket"));
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  const bool syn_drop =
      spec_.mode == FaultMode::SynDrop || spec_.mode == FaultMode::SynDropThenServe;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
      ::listen(listen_fd_, syn_drop ? 0 : 64) != 0) {
    std::string msg = errno_message("bind/listen");
    ::close(listen_fd_);
    throw std::runtime_error(msg);
  }
  port_ = ntohs(addr.sin_port);
  if (syn_drop) {
    // Backlog 0 holds one established connection; later SYNs are dropped while it waits.
    // Two fillers, non-blocking: the second may itself stay in SYN-SENT, which is fine.
    for (int i = 0; i < 2; ++i) {
      int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (fd < 0) continue;
      (void)::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
      filler_fds_.push_back(fd);
      ::usleep(20000);  // the first handshake completes before the second SYN
    }
  }
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) {
    std::string msg = errno_message("eventfd");
    ::close(listen_fd_);
    throw std::runtime_error(msg);
  }
  thread_ = std::thread([this] { run(); });
}

FaultServer::~FaultServer() {
  uint64_t one = 1;
  ssize_t ignored = ::write(wake_fd_, &one, sizeof(one));
  (void)ignored;
  if (thread_.joinable()) thread_.join();
  for (int fd : filler_fds_) ::close(fd);
  ::close(wake_fd_);
  ::close(listen_fd_);
}

std::string FaultServer::url(const std::string& path) const {
  std::string p = (path.empty() || path[0] != '/') ? "/" + path : path;
  return "http://127.0.0.1:" + std::to_string(port_) + p;
}

std::vector<std::string> FaultServer::requests() const {
  std::lock_guard<std::mutex> lock(requests_mu_);
  return requests_;
}

void FaultServer::start_answer(Conn& c) {
  if (spec_.wait_for_request) {
    std::lock_guard<std::mutex> lock(requests_mu_);
    requests_.push_back(c.in);
  }
  const std::string& resp =
      spec_.response.empty() ? std::string(kDefaultFaultResponse) : spec_.response;
  c.phase = Conn::Phase::kWriting;
  c.then = Conn::Then::kClose;
  c.off = 0;
  switch (spec_.mode) {
    case FaultMode::NeverAccept:  // never reached
    case FaultMode::SynDrop:      // never reached
    case FaultMode::AcceptSilent:
      c.phase = Conn::Phase::kSilent;
      return;
    case FaultMode::Drip:
      c.out = resp;
      c.phase = Conn::Phase::kDripping;
      c.deadline = Clock::now();
      return;
    case FaultMode::Delay:
      c.out = resp;
      c.phase = Conn::Phase::kDelaying;
      c.deadline = Clock::now() + spec_.delay;
      return;
    case FaultMode::ResetMidHeaders: {
      size_t end = resp.find("\r\n\r\n");
      size_t header_len = end == std::string::npos ? resp.size() : end + 4;
      c.out = resp.substr(0, std::max<size_t>(1, header_len / 2));
      c.then = Conn::Then::kReset;
      break;
    }
    case FaultMode::ResetMidBody:
      c.out =
          "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
          "Content-Length: 100000\r\n\r\n" +
          std::string(1000, 'b');
      c.then = Conn::Then::kReset;
      break;
    case FaultMode::Garbage:
      c.out = "garbage\r\n\r\n";
      break;
    case FaultMode::EndlessChunked:
      c.out =
          "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
          "Transfer-Encoding: chunked\r\n\r\n";
      c.then = Conn::Then::kChunks;
      break;
    case FaultMode::HugeBody:
      c.out =
          "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
          "Content-Length: 1073741824\r\n\r\n";
      c.then = Conn::Then::kZeros;
      c.zeros_left = kHugeBodySize;
      break;
    case FaultMode::BadChunk:
      c.out =
          "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
          "zz\r\nhello\r\n0\r\n\r\n";
      break;
    case FaultMode::HugeHeader:
      c.out = "HTTP/1.1 200 OK\r\nX-Huge: " + std::string(1 << 20, 'a') +
              "\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
      break;
    case FaultMode::Script:
      c.out = spec_.response;
      break;
    case FaultMode::SynDropThenServe:
      c.out = resp;
      break;
  }
  if (c.flush() && c.off == c.out.size()) on_drained(c);
}

void FaultServer::on_drained(Conn& c) {
  for (;;) {
    switch (c.then) {
      case Conn::Then::kClose:
        ::shutdown(c.fd, SHUT_WR);
        c.phase = Conn::Phase::kDraining;
        c.deadline = Clock::now() + kDrainTimeout;
        return;
      case Conn::Then::kReset:
        c.phase = Conn::Phase::kResetPending;
        c.deadline = Clock::now() + kResetDelay;
        return;
      case Conn::Then::kChunks:
        c.out = endless_chunk();
        c.off = 0;
        c.phase = Conn::Phase::kWriting;
        return;  // written when POLLOUT says so, keeps the loop fair
      case Conn::Then::kZeros:
        if (c.zeros_left == 0) {
          c.then = Conn::Then::kClose;
          continue;
        }
        c.out.assign(static_cast<size_t>(std::min<uint64_t>(c.zeros_left, 256 * 1024)), '\0');
        c.zeros_left -= c.out.size();
        c.off = 0;
        c.phase = Conn::Phase::kWriting;
        return;
    }
  }
}

void FaultServer::handle(Conn& c, short revents) {
  if (c.phase == Conn::Phase::kDone) return;
  if (revents & POLLERR) {
    c.close_now(false);
    return;
  }
  if (revents & POLLIN) {
    char buf[16384];
    ssize_t n = ::recv(c.fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n > 0) {
      if (c.phase == Conn::Phase::kReading) {
        c.in.append(buf, static_cast<size_t>(n));
        if (c.in.find("\r\n\r\n") != std::string::npos || c.in.size() >= kMaxRequest) {
          start_answer(c);
        }
      }  // otherwise: read and discard
    } else if (n == 0) {
      c.read_eof = true;
      if (c.phase == Conn::Phase::kReading && !c.in.empty()) {
        start_answer(c);
      } else if (c.phase == Conn::Phase::kReading || c.phase == Conn::Phase::kSilent ||
                 c.phase == Conn::Phase::kDraining) {
        c.close_now(false);
      }
    } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      c.close_now(false);
    }
  } else if (revents & POLLHUP) {
    c.close_now(false);
  }
  if (c.phase == Conn::Phase::kWriting && (revents & POLLOUT)) {
    if (c.flush() && c.off == c.out.size()) on_drained(c);
  }
}

void FaultServer::on_timer(Conn& c) {
  c.deadline = Clock::time_point::max();
  switch (c.phase) {
    case Conn::Phase::kDripping: {
      ssize_t n = ::send(c.fd, c.out.data() + c.off, 1, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n == 1) {
        ++c.off;
      } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        c.close_now(false);
        return;
      }
      if (c.off >= c.out.size()) {
        on_drained(c);
      } else {
        c.deadline = Clock::now() + spec_.drip_interval;
      }
      return;
    }
    case Conn::Phase::kDelaying:
      c.phase = Conn::Phase::kWriting;
      if (c.flush() && c.off == c.out.size()) on_drained(c);
      return;
    case Conn::Phase::kResetPending:
      c.close_now(true);
      return;
    case Conn::Phase::kDraining:
      c.close_now(false);
      return;
    default:
      return;
  }
}

void FaultServer::run() {
  std::vector<std::unique_ptr<Conn>> conns;
  std::vector<pollfd> pfds;
  const bool never = spec_.mode == FaultMode::NeverAccept || spec_.mode == FaultMode::SynDrop;
  const auto accept_from = spec_.mode == FaultMode::SynDropThenServe ? Clock::now() + spec_.delay
                                                                      : Clock::time_point::min();
  for (;;) {
    const bool accepting = !never && Clock::now() >= accept_from;
    pfds.clear();
    pfds.push_back({wake_fd_, POLLIN, 0});
    pfds.push_back({accepting ? listen_fd_ : -1, POLLIN, 0});
    auto next = never || accepting ? Clock::time_point::max() : accept_from;
    for (const auto& c : conns) {
      short ev = c->read_eof ? 0 : POLLIN;
      if (c->phase == Conn::Phase::kWriting && c->off < c->out.size()) ev |= POLLOUT;
      pfds.push_back({c->fd, ev, 0});
      next = std::min(next, c->deadline);
    }
    int timeout = -1;
    if (next != Clock::time_point::max()) {
      auto left = std::chrono::duration_cast<milliseconds>(next - Clock::now()).count() + 1;
      timeout = static_cast<int>(std::clamp<long long>(left, 0, 60000));
    }
    int r = ::poll(pfds.data(), pfds.size(), timeout);
    if (r < 0 && errno != EINTR) break;
    if (r > 0 && (pfds[0].revents & POLLIN)) break;  // destructor asked us to stop

    const size_t polled = conns.size();
    for (size_t i = 0; r > 0 && i < polled; ++i) {
      if (pfds[i + 2].revents != 0) handle(*conns[i], pfds[i + 2].revents);
    }
    if (r > 0 && (pfds[1].revents & POLLIN)) {
      for (;;) {
        int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) break;
        connections_.fetch_add(1);
        auto c = std::make_unique<Conn>();
        c->fd = fd;
        if (!spec_.wait_for_request) start_answer(*c);
        conns.push_back(std::move(c));
      }
    }
    const auto now = Clock::now();
    for (auto& c : conns) {
      if (c->phase != Conn::Phase::kDone && c->deadline <= now) on_timer(*c);
    }
    conns.erase(std::remove_if(conns.begin(), conns.end(),
                               [](const auto& c) { return c->phase == Conn::Phase::kDone; }),
                conns.end());
  }
  for (auto& c : conns) c->close_now(false);
}

}  // namespace probed::testing
