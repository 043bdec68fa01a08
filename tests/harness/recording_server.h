// RecordingServer: an in-process HTTP server on a free loopback port (civetweb) that records
// every request and answers from a script: a status, extra headers, a delay, or a hang until the
// server stops. Used where a receiver's answer must be shaped exactly (500 then 200, 429 with
// Retry-After, a receiver that never answers). Thread-safe.
#ifndef PROBED_TESTS_HARNESS_RECORDING_SERVER_H_
#define PROBED_TESTS_HARNESS_RECORDING_SERVER_H_

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace probed::testing {

class RecordingServer {
 public:
  struct Answer {
    int status = 200;
    std::string headers;  // extra "Name: value\r\n" lines
    std::chrono::milliseconds delay{0};
    bool hang = false;    // never answer (until the server stops)
  };
  struct Request {
    std::string method;
    std::string uri;
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
    std::chrono::steady_clock::time_point at;
    std::string header(const std::string& name) const;
  };

  // port 0: a free one.
  explicit RecordingServer(int port = 0);
  ~RecordingServer();
  RecordingServer(const RecordingServer&) = delete;
  RecordingServer& operator=(const RecordingServer&) = delete;

  int port() const { return port_; }
  std::string url(const std::string& path = "/") const;
  // Answers for the next requests, in order; afterwards `fallback`.
  void script(std::vector<Answer> answers);
  void set_fallback(Answer a);
  std::vector<Request> requests() const;
  size_t count() const;
  // Waits until at least n requests arrived; false on timeout.
  bool wait_for(size_t n, std::chrono::milliseconds timeout) const;

  struct Impl;  // civetweb glue (public for the C callback)

 private:
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

}  // namespace probed::testing

#endif  // PROBED_TESTS_HARNESS_RECORDING_SERVER_H_
