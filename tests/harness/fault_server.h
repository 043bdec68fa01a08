// FaultServer: a scripted loopback TCP/HTTP server that misbehaves in exact, repeatable ways
// (resets, drips, garbage, endless bodies...). It runs its own poll() thread; construct and
// destroy it on one thread, the const accessors are safe from any thread.
#ifndef PROBED_TESTS_HARNESS_FAULT_SERVER_H_
#define PROBED_TESTS_HARNESS_FAULT_SERVER_H_

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace probed::testing {

// Unless noted, a mode first reads the request (until "\r\n\r\n", 64 KiB or the peer's EOF) and
// closes gracefully (shutdown(SHUT_WR), drain, close) after sending. "RST" = SO_LINGER{1,0} +
// close(), done 100 ms after the partial data was sent so the peer sees the data first.
enum class FaultMode {
  NeverAccept,      // listen (backlog 64) but never accept: connect succeeds, nothing more
  SynDrop,          // listen (backlog 0) with the accept queue filled by the server's own
                    // connections: the kernel drops every further SYN, connect() never ends
  SynDropThenServe,  // SynDrop for `delay`, then accept (the fillers too) and answer as Script:
                     // a client connects only when it retransmits its SYN (about 1 s later)
  AcceptSilent,     // accept, read and discard forever, never answer, keep open
  Drip,             // send `response` one byte every `drip_interval`, then close
  ResetMidHeaders,  // send the first half of `response`'s header block, then RST
  ResetMidBody,     // 200 with Content-Length: 100000, 1000 body bytes, then RST
  Garbage,          // send "garbage\r\n\r\n", then close
  EndlessChunked,   // 200 Transfer-Encoding: chunked, 64 KiB chunks until the peer closes
  HugeBody,         // 200 Content-Length: 1073741824, zeros until the peer closes
  BadChunk,         // 200 chunked whose first chunk-size line is "zz\r\n"
  HugeHeader,       // 200 with a 1 MiB "X-Huge:" header line, then "ok"
  Script,           // send `response` verbatim, then close
  Delay,            // wait `delay`, send `response`, then close
};

struct FaultSpec {
  FaultMode mode = FaultMode::Script;
  // For Drip, ResetMidHeaders, Delay and SynDropThenServe an empty response means
  // kDefaultFaultResponse.
  std::string response{};
  std::chrono::milliseconds drip_interval{1000};
  std::chrono::milliseconds delay{0};
  // false: start answering right after accept, without reading a request (banners, TCP probes).
  bool wait_for_request = true;
};

// "HTTP/1.1 200 OK" with Content-Length: 3 and body "ok\n".
extern const char kDefaultFaultResponse[];

class FaultServer {
 public:
  // Binds 127.0.0.1:0 (port read back), listens and starts the server thread. Throws
  // std::runtime_error on socket errors.
  explicit FaultServer(FaultSpec spec);
  ~FaultServer();  // wakes and joins the thread promptly (even mid-drip), closes every socket
  FaultServer(const FaultServer&) = delete;
  FaultServer& operator=(const FaultServer&) = delete;

  int port() const { return port_; }
  std::string url(const std::string& path = "/") const;    // http://127.0.0.1:PORT/path
  int connections() const { return connections_.load(); }  // accepted so far
  std::vector<std::string> requests() const;  // request bytes read, one entry per connection

 private:
  struct Conn;
  void run();
  void start_answer(Conn& c);
  void on_drained(Conn& c);
  void handle(Conn& c, short revents);
  void on_timer(Conn& c);

  const FaultSpec spec_;
  int listen_fd_ = -1;
  int wake_fd_ = -1;
  std::vector<int> filler_fds_;  // SynDrop: the connections that fill the accept queue
  int port_ = 0;
  std::atomic<int> connections_{0};
  mutable std::mutex requests_mu_;
  std::vector<std::string> requests_;
  std::thread thread_;
};

}  // namespace probed::testing

#endif  // PROBED_TESTS_HARNESS_FAULT_SERVER_H_
