#include "exporters/alerts/alerting.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>

#include "daemon/base/log.h"

namespace probed::exporters::alerts {

Alerting::Alerting(io::Loop& loop, io::CurlMulti& curl, io::AresPool& ares, io::Worker& worker,
                   DaemonMetrics& metrics, Backoff backoff)
    : loop_(loop), worker_(worker), notifier_(loop, curl, ares, metrics, backoff),
      engine_(loop, notifier_) {
  notifier_.on_change([this] { schedule_save(); });
  engine_.on_change([this] { schedule_save(); });
}

Alerting::~Alerting() {
  if (save_timer_ != 0) loop_.cancel(save_timer_);
}

void Alerting::load_state(const std::string& state_dir) {
  std::error_code ec;
  std::filesystem::create_directories(state_dir, ec);
  if (ec || access(state_dir.c_str(), W_OK) != 0) {
    base::log_warn("state_dir not writable: alert state and undelivered notifications will not "
                   "survive a restart",
                   {{"state_dir", state_dir}, {"error", ec ? ec.message() : std::strerror(errno)}});
    return;
  }
  dir_ = state_dir;
  const std::string path = dir_ + "/" + kStateFile;
  std::ifstream in(path);
  if (!in) return;  // first start
  try {
    auto j = nlohmann::json::parse(in);
    engine_.restore(j.value("engine", nlohmann::json::object()));
    spool_ = j.value("spool", nlohmann::json::array());
    base::log_info("alert state restored", {{"file", path}});
  } catch (const nlohmann::json::exception& e) {
    base::log_warn("alert state file unreadable; starting without it",
                   {{"file", path}, {"error", e.what()}});
  }
}

void Alerting::apply(std::shared_ptr<const config::Config> cfg) {
  notifier_.apply(*cfg, generator_base(*cfg));
  engine_.apply(cfg);
  if (!applied_) {
    applied_ = true;
    notifier_.restore(spool_);
    spool_ = nullptr;
  }
  // After the scheduler has applied the same config in this turn: forget what has no slot.
  loop_.defer([this] { engine_.sweep(); });
}

void Alerting::shutdown(base::Duration bound, std::function<void()> done) {
  notifier_.flush(bound, std::move(done));
}

nlohmann::json Alerting::snapshot() {
  const auto start = base::Clock::now();
  nlohmann::json j = {{"version", 1},
                      {"saved_at", base::unix_now()},
                      {"engine", engine_.to_json()},
                      {"spool", notifier_.to_json()}};
  last_cost_ = base::Clock::now() - start;
  return j;
}

void Alerting::write_state(const std::string& dir, const nlohmann::json& state) {
  std::string err;
  if (!write_atomic(dir, dump_json(state), &err)) {
    base::log_warn("cannot write the alert state file", {{"state_dir", dir}, {"error", err}});
  }
}

void Alerting::schedule_save() {
  if (dir_.empty() || save_timer_ != 0) return;
  const base::Duration delay = std::clamp(last_cost_ * kSaveCostRatio, kSaveDelay, kMaxSaveDelay);
  save_timer_ = loop_.after(delay, [this] {
    save_timer_ = 0;
    worker_.submit([dir = dir_, state = snapshot()] { write_state(dir, state); });
  });
}

void Alerting::save_now() {
  if (dir_.empty()) return;
  if (save_timer_ != 0) loop_.cancel(save_timer_);
  save_timer_ = 0;
  auto done = std::make_shared<std::promise<void>>();
  auto f = done->get_future();
  // Through the worker, so it lands after any write still queued there.
  worker_.submit([dir = dir_, state = snapshot(), done] {
    write_state(dir, state);
    done->set_value();
  });
  if (f.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
    base::log_warn("alert state file not written within 5s", {{"state_dir", dir_}});
  }
}

bool Alerting::write_atomic(const std::string& dir, const std::string& text, std::string* error) {
  const std::string tmp = dir + "/." + kStateFile + ".tmp";
  const std::string path = dir + "/" + kStateFile;
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    *error = tmp + ": " + std::strerror(errno);
    return false;
  }
  size_t off = 0;
  while (off < text.size()) {
    ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      *error = tmp + ": " + std::strerror(errno);
      ::close(fd);
      return false;
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    *error = tmp + ": " + std::strerror(errno);
    return false;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    *error = path + ": " + std::strerror(errno);
    return false;
  }
  // The rename itself is durable only once the directory is synced.
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return true;
}

std::string generator_base(const config::Config& cfg) {
  if (!cfg.alerting.external_url.empty()) {
    std::string u = cfg.alerting.external_url;
    return u.back() == '/' ? u : u + "/";
  }
  std::string listen = cfg.daemon.listen;
  auto colon = listen.rfind(':');
  std::string host = listen.substr(0, colon);
  std::string port = colon == std::string::npos ? "" : listen.substr(colon);
  if (host.empty() || host == "0.0.0.0" || host == "[::]") {
    char name[256] = {};
    if (gethostname(name, sizeof name - 1) == 0) host = name;
  }
  return "http://" + host + port + "/";
}

}  // namespace probed::exporters::alerts
