#include "daemon/http_server.h"

#include <CivetServer.h>

#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <ostream>
#include <streambuf>
#include <vector>

namespace probed::daemon {
namespace {

constexpr size_t kTrimAfterBytes = 8 * 1024 * 1024;
// Nice value of civetweb's threads. Rendering /metrics for 1,000 checks is a few MB of text:
// 50 scrapes at once kept 8 workers busy and starved the loop (runs started seconds late and
// were skipped, tests/e2e/fault_matrix_e2e_test.cpp). At nice 10 the 8 workers together
// weigh less than the loop thread, so scrapes get the CPU the schedule leaves over.
constexpr int kHttpThreadNice = 10;

// civetweb's init_thread callback: on Linux, setpriority() on a thread id changes that thread
// alone. Lowering one's own priority needs no privilege; if it fails, nothing else does.
void* lower_thread_priority(const mg_context* /*ctx*/, int /*thread_type*/) {
  setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), kHttpThreadNice);
  return nullptr;
}

void send(mg_connection* conn, int status, const char* type, const std::string& body) {
  mg_printf(conn,
            "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
            "Cache-Control: no-store\r\nConnection: close\r\n\r\n",
            status, mg_get_response_code_text(conn, status), type, body.size());
  mg_write(conn, body.data(), body.size());
}

// Writes through to the connection in 64 KiB pieces, so a large /metrics is never held
// whole in memory.
class ConnectionBuf : public std::streambuf {
 public:
  // The buffer is on the heap: civetweb's worker threads have small stacks.
  explicit ConnectionBuf(mg_connection* c) : conn_(c), buf_(kSize) {
    setp(buf_.data(), buf_.data() + buf_.size());
  }
  ~ConnectionBuf() override { sync(); }

 protected:
  int_type overflow(int_type ch) override {
    if (sync() != 0) return traits_type::eof();
    if (!traits_type::eq_int_type(ch, traits_type::eof())) {
      *pptr() = traits_type::to_char_type(ch);
      pbump(1);
    }
    return traits_type::not_eof(ch);
  }
  int sync() override {
    auto n = pptr() - pbase();
    if (n > 0 && mg_write(conn_, pbase(), static_cast<size_t>(n)) != n) failed_ = true;
    written_ += static_cast<size_t>(n);
    setp(buf_.data(), buf_.data() + buf_.size());
    return failed_ ? -1 : 0;
  }

 private:
  static constexpr size_t kSize = 64 * 1024;
  mg_connection* conn_;
  std::vector<char> buf_;
  bool failed_ = false;
  size_t written_ = 0;

 public:
  size_t written() const { return written_; }
};

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

// A query parameter, URL-decoded; "" when absent or longer than 8 KiB.
std::string query_var(const mg_request_info* ri, const char* name) {
  if (ri->query_string == nullptr) return "";
  std::vector<char> buf(8192);
  int n = mg_get_var(ri->query_string, std::strlen(ri->query_string), name, buf.data(), buf.size());
  return n > 0 ? std::string(buf.data(), static_cast<size_t>(n)) : "";
}

ProbeRequest probe_request(mg_connection* c) {
  const mg_request_info* ri = mg_get_request_info(c);
  ProbeRequest req;
  req.module = query_var(ri, "module");
  req.target = query_var(ri, "target");
  req.debug = query_var(ri, "debug") == "true";
  if (const char* h = mg_get_header(c, "X-Prometheus-Scrape-Timeout-Seconds")) {
    char* end = nullptr;
    double v = std::strtod(h, &end);
    if (end != h && v > 0) req.scrape_timeout_s = v;
  }
  return req;
}

}  // namespace

// The status page, the JSON API and /probe (docs/api.md). `add` registers one route.
template <typename Impl, typename Add>
void add_status_and_probe_routes(Impl* impl, Add& add) {
  add("/api/v1/checks", [impl](mg_connection* c, bool) {
    send(c, 200, "application/json", impl->h.api_checks());
  });
  add("/api/v1/certs", [impl](mg_connection* c, bool) {
    send(c, 200, "application/json", impl->h.api_certs());
  });
  add("/probe", [impl](mg_connection* c, bool) {
    HttpAnswer a = impl->h.probe(probe_request(c));
    send(c, a.status, a.content_type.c_str(), a.body);
  });
  // Last: civetweb takes the first handler whose prefix matches, and "/" matches every path.
  add("/", [impl](mg_connection* c, bool) {
    const char* uri = mg_get_request_info(c)->local_uri;
    if (uri == nullptr || std::strcmp(uri, "/") != 0) return send(c, 404, "text/plain", "not found\n");
    send(c, 200, "text/html; charset=utf-8", impl->h.status_page());
  });
}

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
  std::vector<std::string> options = {"listening_ports", listen, "num_threads", "8",
                                      "request_timeout_ms", "30000", "enable_keep_alive", "no"};
  try {
    CivetCallbacks callbacks;  // copied by civetweb
    callbacks.init_thread = &lower_thread_priority;
    s->impl_->server = std::make_unique<CivetServer>(options, &callbacks);
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
    // Streamed: no Content-Length, the end of the body is the end of the connection.
    mg_printf(c,
              "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
              "Cache-Control: no-store\r\nConnection: close\r\n\r\n");
    ConnectionBuf buf(c);
    std::ostream out(&buf);
    impl->h.metrics(out);
    out.flush();
    // After a large scrape, give its transient memory back to the system: glibc keeps freed
    // memory in per-thread arenas, and civetweb's threads would each hold a scrape's worth.
    // Small scrapes skip it (trimming costs more CPU than it saves there).
    if (buf.written() > kTrimAfterBytes) malloc_trim(0);
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
  add_status_and_probe_routes(impl, add);
  return s;
}

HttpServer::~HttpServer() {
  // Stop civetweb (joins its workers) before the handlers they call are destroyed.
  if (impl_) impl_->server.reset();
}

}  // namespace probed::daemon
