// HttpServer: the civetweb listener on daemon.listen serving /metrics, /-/healthy, /-/ready,
// POST /-/reload, the status page `/`, /api/v1/checks, /api/v1/certs and GET /probe (SPEC §4).
// Its threads never touch loop state: they read the thread-safe prometheus registry, status
// snapshots and atomics, and reach the loop only through the callbacks below, which use
// Loop::post.
#pragma once

#include <functional>
#include <ostream>
#include <memory>
#include <optional>
#include <string>

#include "daemon/base/expected.h"

class CivetServer;

namespace probed::daemon {

struct ProbeRequest {
  std::string module;
  std::string target;
  bool debug = false;
  std::optional<double> scrape_timeout_s;  // X-Prometheus-Scrape-Timeout-Seconds
};

struct HttpAnswer {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

struct HttpHandlers {
  std::function<void(std::ostream&)> metrics;  // writes the Prometheus text
  std::function<bool()> healthy;         // the loop turned recently
  std::function<bool()> ready;           // a config is loaded and running
  // Runs a reload and waits for it: {ok, errors as text}.
  std::function<std::pair<bool, std::string>()> reload;
  // From status snapshots: the HTML page and the JSON API (docs/api.md).
  std::function<std::string()> status_page;
  std::function<std::string()> api_checks;
  std::function<std::string()> api_certs;
  // GET /probe; blocks the calling HTTP thread for at most the run's timeout.
  std::function<HttpAnswer(const ProbeRequest&)> probe;
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
