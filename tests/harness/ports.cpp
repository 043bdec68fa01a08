#include "tests/harness/ports.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

namespace probed::testing {
namespace {

std::string errno_message(const char* what) {
  return std::string(what) + ": " + std::strerror(errno);
}

// One non-blocking connect attempt bounded by `timeout`; true if it connected.
bool try_connect(const addrinfo* ai, std::chrono::milliseconds timeout) {
  int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
  if (fd < 0) return false;
  bool ok = false;
  if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
    ok = true;
  } else if (errno == EINPROGRESS) {
    pollfd pfd{fd, POLLOUT, 0};
    if (::poll(&pfd, 1, static_cast<int>(timeout.count())) == 1) {
      int err = 0;
      socklen_t len = sizeof(err);
      ok = ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0;
    }
  }
  ::close(fd);
  return ok;
}

}  // namespace

int free_port() {
  // bind(0) only promises a port that is free now; once the probe socket is closed the kernel may
  // hand the same port out again, also to this process. Two servers of one nginx config on one
  // port become virtual hosts of each other (the first one answers both), which once made the mTLS
  // server answer without asking for a client certificate. So a port is never handed out twice.
  static std::mutex mu;
  static std::set<int> handed_out;
  for (int attempt = 0; attempt < 64; ++attempt) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error(errno_message("free_port: socket"));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof(addr);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      std::string msg = errno_message("free_port: bind/getsockname");
      ::close(fd);
      throw std::runtime_error(msg);
    }
    ::close(fd);
    const int port = ntohs(addr.sin_port);
    std::lock_guard<std::mutex> lock(mu);
    if (handed_out.insert(port).second) return port;
  }
  throw std::runtime_error("free_port: the kernel kept offering ports already handed out");
}

std::string make_temp_dir(std::string_view prefix) {
  std::string templ = "/tmp/" + std::string(prefix) + "XXXXXX";
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) {
    throw std::runtime_error(errno_message(("mkdtemp " + templ).c_str()));
  }
  return std::string(buf.data());
}

void remove_tree(const std::string& path) noexcept {
  if (path.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

bool wait_for_tcp(const std::string& host, int port, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* res = nullptr;
  const std::string service = std::to_string(port);
  if (::getaddrinfo(host.c_str(), service.c_str(), &hints, &res) != 0 || res == nullptr) {
    return false;
  }
  bool ok = false;
  while (!ok) {
    for (const addrinfo* ai = res; ai != nullptr && !ok; ai = ai->ai_next) {
      ok = try_connect(ai, std::chrono::milliseconds(200));
    }
    if (ok || std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::freeaddrinfo(res);
  return ok;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const std::string& path, std::string_view content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  out.close();
  if (!out) throw std::runtime_error("cannot write " + path);
}

TempDir::~TempDir() { cleanup(); }

TempDir& TempDir::operator=(TempDir&& other) noexcept {
  if (this != &other) {
    cleanup();
    path_ = std::move(other.path_);
    other.path_.clear();
  }
  return *this;
}

std::string TempDir::file(std::string_view name) const { return path_ + "/" + std::string(name); }

void TempDir::cleanup() noexcept {
  if (path_.empty()) return;
  if (std::getenv("PROBED_KEEP_TEST_DIRS") != nullptr) {
    std::fprintf(stderr, "[harness] keeping test dir %s\n", path_.c_str());
  } else {
    remove_tree(path_);
  }
  path_.clear();
}

}  // namespace probed::testing
