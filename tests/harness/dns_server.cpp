#include "tests/harness/dns_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <stdexcept>
#include <thread>

namespace probed::testing {
namespace {

using std::chrono::milliseconds;

constexpr const char* kDnsmasqBinary = "/usr/sbin/dnsmasq";
constexpr auto kReadyTimeout = std::chrono::seconds(10);

// A name in DNS wire form (uncompressed), as --dns-rr wants its data in hex.
std::string wire_name(const std::string& name) {
  std::string out;
  size_t start = 0;
  while (start < name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    out += static_cast<char>(dot - start);
    out += name.substr(start, dot - start);
    start = dot + 1;
  }
  return out + '\0';
}

std::string hex(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 0x0f];
  }
  return out;
}

std::string u32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

// dnsmasq has no SOA or NS option outside its authoritative mode; --dns-rr serves raw data.
std::string soa_rdata() {
  return hex(wire_name("ns1.example.test") + wire_name("hostmaster.example.test") +
             u32(2024010101) + u32(7200) + u32(3600) + u32(1209600) + u32(300));
}

// True once the server on 127.0.0.1:port answers a UDP query for www.example.test A.
bool answers(int port) {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string q("\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00", 12);
  q += wire_name("www.example.test") + std::string("\x00\x01\x00\x01", 4);
  bool ok = false;
  if (::sendto(fd, q.data(), q.size(), 0, reinterpret_cast<sockaddr*>(&addr), sizeof addr) > 0) {
    pollfd p{fd, POLLIN, 0};
    char buf[512];
    ok = ::poll(&p, 1, 100) == 1 && ::recv(fd, buf, sizeof buf, 0) >= 12;
  }
  ::close(fd);
  return ok;
}

}  // namespace

Dnsmasq::Dnsmasq(std::vector<std::string> extra_args)
    : dir_("probed-dnsmasq"), extra_args_(std::move(extra_args)) {
  std::string why;
  for (int attempt = 0; attempt < 4; ++attempt) {
    if (start(&why)) return;
    process_.stop();
  }
  throw std::runtime_error("dnsmasq did not start: " + why + "\n" + log_content());
}

Dnsmasq::~Dnsmasq() = default;  // process_ goes first: TERM, then KILL, crash report

bool Dnsmasq::start(std::string* why) {
  port_ = free_port();
  std::vector<std::string> argv = {kDnsmasqBinary,
                                   "--keep-in-foreground",
                                   "--port=" + std::to_string(port_),
                                   "--listen-address=127.0.0.1",
                                   "--bind-interfaces",
                                   "--no-resolv",
                                   "--no-hosts",
                                   "--conf-file=/dev/null",
                                   "--pid-file=",
                                   "--user=root",
                                   "--log-queries",
                                   "--log-facility=" + dir_.file("dnsmasq.log"),
                                   "--local=/example.test/",
                                   "--host-record=www.example.test,192.0.2.10",
                                   "--host-record=multi.example.test,192.0.2.21",
                                   "--host-record=multi.example.test,192.0.2.22",
                                   "--host-record=v6.example.test,2001:db8::10",
                                   "--cname=alias.example.test,www.example.test",
                                   "--mx-host=example.test,mail.example.test,10",
                                   "--dns-rr=example.test,2," + hex(wire_name("ns1.example.test")),
                                   "--dns-rr=example.test,6," + soa_rdata(),
                                   "--caa-record=example.test,0,issue,letsencrypt.org",
                                   "--txt-record=txt.example.test,v=spf1 -all,probed",
                                   "--txt-record=big.example.test," + std::string(200, 'x') + "," +
                                       std::string(200, 'x') + "," + std::string(200, 'x') + "," +
                                       std::string(200, 'x'),
                                   "--srv-host=_sip._tcp.example.test,sip.example.test,5060,10,20",
                                   "--ptr-record=99.2.0.192.in-addr.arpa,ptr.example.test"};
  argv.insert(argv.end(), extra_args_.begin(), extra_args_.end());
  ProcessOptions opts;
  opts.stdout_path = dir_.file("stdout.log");
  opts.stderr_path = dir_.file("stderr.log");
  process_ = Process::spawn(argv, opts);
  auto until = std::chrono::steady_clock::now() + kReadyTimeout;
  while (std::chrono::steady_clock::now() < until) {
    if (!process_.running()) {
      *why = "dnsmasq exited";
      return false;
    }
    if (answers(port_)) return true;
    std::this_thread::sleep_for(milliseconds(20));
  }
  *why = "no answer on port " + std::to_string(port_);
  return false;
}

std::string Dnsmasq::log_content() const {
  return read_file(dir_.file("dnsmasq.log")) + read_file(dir_.file("stderr.log"));
}

bool Dnsmasq::running() { return process_.running(); }

}  // namespace probed::testing
