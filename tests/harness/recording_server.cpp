#include "tests/harness/recording_server.h"

#include <civetweb.h>
#include <strings.h>

#include <stdexcept>

#include "tests/harness/ports.h"

namespace probed::testing {

struct RecordingServer::Impl {
  mg_context* ctx = nullptr;
  mutable std::mutex mu;
  mutable std::condition_variable cv;
  std::deque<Answer> script;
  Answer fallback;
  std::vector<Request> requests;
  bool stopping = false;

  static int handle(mg_connection* conn, void* data) {
    auto* self = static_cast<Impl*>(data);
    const mg_request_info* ri = mg_get_request_info(conn);
    Request r;
    r.method = ri->request_method ? ri->request_method : "";
    r.uri = ri->local_uri ? ri->local_uri : "";
    for (int i = 0; i < ri->num_headers; ++i) {
      r.headers.emplace_back(ri->http_headers[i].name, ri->http_headers[i].value);
    }
    char buf[8192];
    int n;
    while ((n = mg_read(conn, buf, sizeof buf)) > 0) r.body.append(buf, static_cast<size_t>(n));
    r.at = std::chrono::steady_clock::now();
    Answer a;
    {
      std::unique_lock lock(self->mu);
      self->requests.push_back(std::move(r));
      if (!self->script.empty()) {
        a = self->script.front();
        self->script.pop_front();
      } else {
        a = self->fallback;
      }
      self->cv.notify_all();
      if (a.hang) {
        self->cv.wait(lock, [&] { return self->stopping; });
        return 1;  // closes without an answer
      }
      if (a.delay.count() > 0) {
        self->cv.wait_for(lock, a.delay, [&] { return self->stopping; });
      }
    }
    mg_printf(conn, "HTTP/1.1 %d X\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n%s"
                    "Connection: close\r\n\r\nok",
              a.status, a.headers.c_str());
    return a.status;
  }
};

std::string RecordingServer::Request::header(const std::string& name) const {
  for (const auto& [k, v] : headers) {
    if (strcasecmp(k.c_str(), name.c_str()) == 0) return v;
  }
  return {};
}

RecordingServer::RecordingServer(int port) : impl_(std::make_unique<Impl>()) {
  port_ = port != 0 ? port : free_port();
  const std::string ports = "127.0.0.1:" + std::to_string(port_);
  const char* options[] = {"listening_ports", ports.c_str(), "num_threads", "8",
                           "enable_keep_alive", "no", nullptr};
  mg_callbacks cb{};
  impl_->ctx = mg_start(&cb, nullptr, options);
  if (impl_->ctx == nullptr) throw std::runtime_error("RecordingServer: cannot listen on " + ports);
  mg_set_request_handler(impl_->ctx, "/", &Impl::handle, impl_.get());
}

RecordingServer::~RecordingServer() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
    impl_->cv.notify_all();
  }
  mg_stop(impl_->ctx);
}

std::string RecordingServer::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

void RecordingServer::script(std::vector<Answer> answers) {
  std::lock_guard lock(impl_->mu);
  impl_->script.assign(answers.begin(), answers.end());
}

void RecordingServer::set_fallback(Answer a) {
  std::lock_guard lock(impl_->mu);
  impl_->fallback = std::move(a);
}

std::vector<RecordingServer::Request> RecordingServer::requests() const {
  std::lock_guard lock(impl_->mu);
  return impl_->requests;
}

size_t RecordingServer::count() const {
  std::lock_guard lock(impl_->mu);
  return impl_->requests.size();
}

bool RecordingServer::wait_for(size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->mu);
  return impl_->cv.wait_for(lock, timeout, [&] { return impl_->requests.size() >= n; });
}

}  // namespace probed::testing
