// HttpServer: the civetweb listener on daemon.listen serving /metrics, /-/healthy, /-/ready and
// POST /-/reload (SPEC §4). Its threads never touch loop state: they read the thread-safe
// prometheus registry and atomics, and reach the loop only through the callbacks below, which
// use Loop::post.
#pragma once

#include <functional>
#include <ostream>
#include <memory>
#include <string>

#include "daemon/base/expected.h"

class CivetServer;

namespace probed::daemon {

struct HttpHandlers {
  std::function<void(std::ostream&)> metrics;  // writes the Prometheus text
  std::function<bool()> healthy;         // the loop turned recently
  std::function<bool()> ready;           // a config is loaded and running
  // Runs a reload and waits for it: {ok, errors as text}.
  std::function<std::pair<bool, std::string>()> reload;
};

class HttpServer {
 public:
  static base::Expected<std::unique_ptr<HttpServer>> start(const std::string& listen,
                                                           HttpHandlers handlers);
  ~HttpServer();
  int port() const { return port_; }

 private:
  HttpServer() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

}  // namespace probed::daemon
