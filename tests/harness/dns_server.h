// Dnsmasq: a real dnsmasq (/usr/sbin/dnsmasq from Debian's dnsmasq-base, in the foreground)
// serving a fixed test zone on a loopback port, UDP and TCP, with no upstream, no /etc/hosts
// and no resolv.conf, so it never sends a packet anywhere. Construct/destroy on one thread;
// the accessors are const and safe from any thread while the object lives.
#ifndef PROBED_TESTS_HARNESS_DNS_SERVER_H_
#define PROBED_TESTS_HARNESS_DNS_SERVER_H_

#include <string>
#include <vector>

#include "tests/harness/ports.h"
#include "tests/harness/process.h"

namespace probed::testing {

// The zone every Dnsmasq serves (TTL 0, dnsmasq's default for local data):
//   www.example.test         A      192.0.2.10      (and the PTR 10.2.0.192.in-addr.arpa)
//   multi.example.test       A      192.0.2.21, 192.0.2.22
//   v6.example.test          AAAA   2001:db8::10    (and its ip6.arpa PTR)
//   alias.example.test       CNAME  www.example.test.
//   example.test             MX     10 mail.example.test.
//   example.test             NS     ns1.example.test.
//   example.test             SOA    ns1.example.test. hostmaster.example.test. 2024010101
//                                   7200 3600 1209600 300
//   example.test             CAA    0 issue "letsencrypt.org"
//   txt.example.test         TXT    "v=spf1 -all" "probed"  (two strings)
//   big.example.test         TXT    4 strings of 200 "x" (~850 bytes: truncated over UDP)
//   _sip._tcp.example.test   SRV    10 20 5060 sip.example.test.
//   99.2.0.192.in-addr.arpa  PTR    ptr.example.test.
// Any other name under example.test is NXDOMAIN (NOERROR without records for a name that
// has other types); a name outside example.test is REFUSED (there is no upstream).
class Dnsmasq {
 public:
  // Starts dnsmasq on a free port and waits (10 s) until it answers a query. extra_args are
  // appended to the command line. Throws std::runtime_error with its log if it never answers
  // (retries a few times on port races).
  explicit Dnsmasq(std::vector<std::string> extra_args = {});
  ~Dnsmasq();  // SIGTERM (then SIGKILL); the temp dir goes unless PROBED_KEEP_TEST_DIRS
  Dnsmasq(const Dnsmasq&) = delete;
  Dnsmasq& operator=(const Dnsmasq&) = delete;

  int port() const { return port_; }
  std::string server() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string log_content() const;  // dnsmasq's log (queries are logged) and stderr
  bool running();

 private:
  bool start(std::string* why);

  TempDir dir_;
  std::vector<std::string> extra_args_;
  int port_ = 0;
  Process process_;
};

}  // namespace probed::testing

#endif  // PROBED_TESTS_HARNESS_DNS_SERVER_H_
