#include "daemon/http_server.h"

#include <CivetServer.h>

#include <cstring>

namespace probed::daemon {
namespace {

void send(mg_connection* conn, int status, const char* type, const std::string& body) {
  mg_printf(conn,
            "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
            "Cache-Control: no-store\r\nConnection: close\r\n\r\n",
            status, mg_get_response_code_text(conn, status), type, body.size());
  mg_write(conn, body.data(), body.size());
}

class Handler : public CivetHandler {
 public:
  using Fn = std::function<void(mg_connection*, bool is_post)>;
  explicit Handler(Fn fn) : fn_(std::move(fn)) {}
  bool handleGet(CivetServer*, mg_connection* c) override {
    fn_(c, false);
    return true;
  }
  bool handlePost(CivetServer*, mg_connection* c) override {
    fn_(c, true);
    return true;
  }

 private:
  Fn fn_;
};

}  // namespace

struct HttpServer::Impl {
  HttpHandlers h;
  std::unique_ptr<CivetServer> server;
  std::vector<std::unique_ptr<Handler>> handlers;
};

base::Expected<std::unique_ptr<HttpServer>> HttpServer::start(const std::string& listen,
                                                              HttpHandlers handlers) {
  std::unique_ptr<HttpServer> s(new HttpServer());
  s->impl_ = std::make_unique<Impl>();
  s->impl_->h = std::move(handlers);
  std::vector<std::string> options = {"listening_ports", listen, "num_threads", "4",
                                      "request_timeout_ms", "30000", "enable_keep_alive", "no"};
  try {
    s->impl_->server = std::make_unique<CivetServer>(options);
  } catch (const CivetException& e) {
    return base::unexpected("cannot listen on " + listen + ": " + e.what() +
                            " (is the address in use?)");
  }
  if (s->impl_->server->getContext() == nullptr) {
    return base::unexpected("cannot listen on " + listen);
  }
  auto ports = s->impl_->server->getListeningPorts();
  s->port_ = ports.empty() ? 0 : ports.front();
  Impl* impl = s->impl_.get();
  auto add = [&](const char* uri, Handler::Fn fn) {
    impl->handlers.push_back(std::make_unique<Handler>(std::move(fn)));
    impl->server->addHandler(uri, impl->handlers.back().get());
  };
  add("/metrics", [impl](mg_connection* c, bool) {
    send(c, 200, "text/plain; version=0.0.4; charset=utf-8", impl->h.metrics());
  });
  add("/-/healthy", [impl](mg_connection* c, bool) {
    bool ok = impl->h.healthy();
    send(c, ok ? 200 : 503, "text/plain", ok ? "OK\n" : "event loop stalled\n");
  });
  add("/-/ready", [impl](mg_connection* c, bool) {
    bool ok = impl->h.ready();
    send(c, ok ? 200 : 503, "text/plain", ok ? "OK\n" : "not ready\n");
  });
  add("/-/reload", [impl](mg_connection* c, bool is_post) {
    if (!is_post) return send(c, 405, "text/plain", "use POST\n");
    auto [ok, text] = impl->h.reload();
    send(c, ok ? 200 : 400, "text/plain", ok ? "config reloaded\n" : text);
  });
  return s;
}

HttpServer::~HttpServer() = default;

}  // namespace probed::daemon
