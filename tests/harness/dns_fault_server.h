// DnsFaultServer: an in-process loopback DNS server (UDP and TCP on the same 127.0.0.1 port)
// that answers every query in one scripted, exactly repeatable way: an rcode, silence, a
// truncated UDP reply, garbage, a wrong id or question, a late or malformed answer (c-ares's
// MockServer idea). It runs its own poll() thread; construct and destroy it on one thread, the
// const accessors are safe from any thread.
#ifndef PROBED_TESTS_HARNESS_DNS_FAULT_SERVER_H_
#define PROBED_TESTS_HARNESS_DNS_FAULT_SERVER_H_

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace probed::testing {

enum class DnsFault {
  Answer,      // NOERROR with `addresses` as A/AAAA records (none: NOERROR without records)
  Rcode,       // `rcode`, the question echoed, no records
  Silent,      // read every query, never answer (TCP connections stay open)
  Truncated,   // UDP: TC bit set and no records; TCP: the full Answer
  Garbage,     // "this is not a DNS message\r\n" (no DNS header a client can match)
  WrongId,     // the Answer with the query's id + 1
  WrongQname,  // the Answer for "wrong.example.test" instead of the question asked
  Slow,        // the Answer after `delay`
  Malformed,   // right id and question, ANCOUNT 1, but the record cut off after its name
};

struct DnsFaultSpec {
  DnsFault mode = DnsFault::Answer;
  int rcode = 0;  // Rcode: 2 SERVFAIL, 3 NXDOMAIN, 5 REFUSED, ...
  std::vector<std::string> addresses = {"192.0.2.1"};  // IPv4 -> A, IPv6 -> AAAA; TTL 60
  std::chrono::milliseconds delay{0};                  // Slow
};

class DnsFaultServer {
 public:
  // Binds UDP and TCP 127.0.0.1 on one free port and starts the thread. Throws
  // std::runtime_error on socket errors.
  explicit DnsFaultServer(DnsFaultSpec spec);
  ~DnsFaultServer();  // wakes and joins the thread promptly, closes every socket
  DnsFaultServer(const DnsFaultServer&) = delete;
  DnsFaultServer& operator=(const DnsFaultServer&) = delete;

  int port() const { return port_; }
  std::string server() const { return "127.0.0.1:" + std::to_string(port_); }
  int udp_queries() const { return udp_queries_.load(); }
  int tcp_queries() const { return tcp_queries_.load(); }
  // The flags word (bytes 2-3) of the last query received, -1 before the first: RD is 0x0100.
  int last_query_flags() const { return last_flags_.load(); }

  // The reply bytes for one query message (empty: no reply), as the server would send them
  // over UDP (tcp = false) or TCP. Public so tests can inspect what the script produces.
  std::vector<unsigned char> reply_for(const std::vector<unsigned char>& query, bool tcp) const;

 private:
  struct Conn;
  struct Pending;
  void run();
  void read_udp();
  void read_tcp(Conn& c);
  void answer(Pending p);  // now, or after `delay` for Slow
  void send_now(const Pending& p);

  const DnsFaultSpec spec_;
  int udp_fd_ = -1;
  int tcp_fd_ = -1;
  int wake_fd_ = -1;
  int port_ = 0;
  std::atomic<int> udp_queries_{0};
  std::atomic<int> tcp_queries_{0};
  std::atomic<int> last_flags_{-1};
  std::vector<Conn> conns_;       // server thread only
  std::vector<Pending> pending_;  // server thread only: Slow replies not yet due
  std::thread thread_;
};

}  // namespace probed::testing

#endif  // PROBED_TESTS_HARNESS_DNS_FAULT_SERVER_H_
