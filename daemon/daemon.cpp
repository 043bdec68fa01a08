#include "daemon/daemon.h"

#include <malloc.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <signal.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <future>
#include <iostream>
#include <sstream>
#include <thread>

#include "config/loader.h"
#include "config/targets_file.h"
#include "daemon/base/log.h"
#include "daemon/http_server.h"
#include "daemon/io/worker.h"
#include "daemon/scheduler.h"
#include "exporters/alerts/alerting.h"
#include "exporters/metrics/daemon_metrics.h"
#include "exporters/metrics/metrics_exporter.h"
#include "exporters/status/api_json.h"
#include "exporters/status/status_page.h"
#include "exporters/status/status_store.h"
#include "daemon/one_shot.h"
#include "daemon/probe_endpoint.h"
#include "probes/probe.h"

namespace probed::daemon {
namespace {

constexpr const char* kSystemConfig = "/etc/probed/probed.toml";
// SIGTERM: how long running probes get to finish (each also ends at its own deadline, which
// is shorter whenever the check's timeout is), then how long queued notifications get for one
// last delivery attempt. Worst case from SIGTERM to exit: 10 s + 5 s, inside the unit's
// TimeoutStopSec=20s.
constexpr base::Duration kDrainBound = std::chrono::seconds(10);
constexpr base::Duration kNotifyFlushBound = std::chrono::seconds(5);
// Test hook, off unless this variable is set (to whole seconds, 1-60): SIGUSR1 then sleeps the
// event loop that long, so a test can show the watchdog keep-alives stop with a stuck loop.
// Nothing in the package sets it; without it SIGUSR1 keeps its default action.
constexpr const char* kBlockLoopEnv = "PROBED_TEST_BLOCK_LOOP_ON_SIGUSR1";

int block_loop_seconds() {
  const char* v = std::getenv(kBlockLoopEnv);
  if (v == nullptr) return 0;
  int n = std::atoi(v);
  return n >= 1 && n <= 60 ? n : 0;
}

config::LoadResult load(const std::string& path) {
  if (path.empty()) {
    return config::load_config_text(config::default_config_text(), config::kDefaultConfigLabel,
                                    "/", probes::config_probe_types());
  }
  return config::load_config(path, probes::config_probe_types());
}

std::string diagnostics_text(const config::Diagnostics& d) {
  std::ostringstream ss;
  d.print(ss);
  return ss.str();
}

class Daemon {
 public:
  Daemon(io::Loop& loop, io::CurlMulti& curl, std::string path)
      : loop_(loop),
        ares_(loop),
        services_{loop, curl, ares_, &worker_},
        daemon_metrics_(registry_),
        alerting_(loop, curl, ares_, worker_, daemon_metrics_),
        scheduler_(loop, services_, daemon_metrics_),
        one_shot_(services_),
        probe_endpoint_(loop, one_shot_),
        path_(std::move(path)) {}

  int run(std::shared_ptr<const config::Config> cfg) {
    exporter_ = std::make_unique<exporters::MetricsExporter>(cfg->daemon.location);
    scheduler_.add_sink(exporter_.get());
    scheduler_.add_sink(&alerting_.engine());
    status_ = std::make_unique<exporters::StatusStore>(cfg->daemon.location);
    scheduler_.add_sink(status_.get());
    scheduler_.on_added([this](const config::CheckConfig& c, const config::Target& t) {
      exporter_->on_added(c, t);
      status_->on_added(c, t);
      alerting_.engine().on_added(c, t);  // after the status row exists: it shows restored alerts
    });
    alerting_.engine().on_state([this](const exporters::CheckKey& k, const std::string& state) {
      status_->set_alert(k, state == "ok" ? "" : state);
    });
    alerting_.load_state(cfg->daemon.state_dir);
    state_dir_ = cfg->daemon.state_dir;
    HttpHandlers h;
    h.metrics = [this](std::ostream& out) {
      exporters::write_families(out, registry_.Collect());  // the daemon's own few series
      exporter_->write(out);
    };
    h.healthy = [this] {
      return base::Clock::now() - base::Clock::time_point(base::Duration(last_tick_.load())) <
             std::chrono::seconds(10);
    };
    h.ready = [this] { return ready_.load(); };
    h.reload = [this] { return reload_and_wait(); };
    h.status_page = [this] { return exporters::status_page_html(*status_->snapshot()); };
    h.api_checks = [this] { return exporters::checks_json(*status_->snapshot()); };
    h.api_certs = [this] { return exporters::certs_json(*status_->snapshot()); };
    h.probe = [this](const ProbeRequest& r) { return probe_endpoint_.handle(r); };
    // The loop's heartbeat starts before the listener: /-/healthy must not say "stalled" to a
    // request that arrives between the two (seen under TSan).
    tick();
    auto server = HttpServer::start(cfg->daemon.listen, std::move(h));
    if (!server) {
      base::log_error("cannot start", {{"error", server.error()}});
      return 1;
    }
    server_ = std::move(*server);
    listen_ = cfg->daemon.listen;
    (void)loop_.on_signal(SIGTERM, [this] { shutdown("SIGTERM"); });
    (void)loop_.on_signal(SIGINT, [this] { shutdown("SIGINT"); });
    (void)loop_.on_signal(SIGHUP, [this] { reload(nullptr); });
    install_test_hook();
    apply(std::move(cfg));
    daemon_metrics_.reload_result(true);
    ready_ = true;
    base::log_info("probed started", {{"listen", listen_},
                                      {"config", path_.empty() ? "<embedded default>" : path_},
                                      {"checks", std::to_string(scheduler_.slot_count())},
                                      {"metrics", "http://" + listen_ + "/metrics"}});
    sd_notify(0, "READY=1\nSTATUS=probing");
    start_watchdog();
    loop_.run();
    scheduler_.stop();
    one_shot_.stop();
    alerting_.save_now();
    server_.reset();
    base::log_info("probed stopped");
    return 0;
  }

 private:
  void tick() {
    last_tick_ = base::Clock::now().time_since_epoch().count();
    loop_.after(std::chrono::seconds(1), [this] { tick(); });
  }

  void install_test_hook() {
    int secs = block_loop_seconds();
    if (secs == 0) return;
    base::log_warn("test hook enabled: SIGUSR1 blocks the event loop",
                   {{"env", kBlockLoopEnv}, {"seconds", std::to_string(secs)}});
    (void)loop_.on_signal(SIGUSR1, [secs] {
      base::log_warn("blocking the event loop (test hook)", {{"seconds", std::to_string(secs)}});
      std::this_thread::sleep_for(std::chrono::seconds(secs));
    });
  }

  void start_watchdog() {
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return;
    // Fed from the loop itself, so a stuck loop stops the keep-alives and systemd restarts us.
    auto period = std::chrono::microseconds(usec / 2);
    feed_ = [this, period] {
      sd_notify(0, "WATCHDOG=1");
      loop_.after(period, feed_);
    };
    feed_();
  }

  // First signal: no new runs, running ones finish (their Results still reach metrics, alerts
  // and the status page), then the notifier flush. A second signal: stop now; run() still
  // abandons what is left and writes the state file (spool included) before exiting 0.
  void shutdown(const char* why) {
    if (stopping_) {
      base::log_warn("second stop signal; stopping now", {{"signal", why}});
      loop_.stop();
      return;
    }
    stopping_ = true;
    base::log_info("shutting down",
                   {{"signal", why}, {"running", std::to_string(scheduler_.inflight())}});
    sd_notify(0, "STOPPING=1");
    ready_ = false;
    scheduler_.drain(kDrainBound, [this] {
      base::log_info("probes finished; flushing notifications");
      alerting_.shutdown(kNotifyFlushBound, [this] { loop_.stop(); });
    });
  }

  void apply(std::shared_ptr<const config::Config> cfg) {
    if (cfg->daemon.listen != listen_) {
      base::log_warn("daemon.listen changed; it takes effect after a restart",
                     {{"listen", cfg->daemon.listen}});
    }
    if (config_ && cfg->daemon.location != config_->daemon.location) {
      base::log_warn("daemon.location changed; it takes effect after a restart",
                     {{"location", cfg->daemon.location}});
    }
    if (config_ && cfg->daemon.state_dir != state_dir_) {
      base::log_warn("daemon.state_dir changed; it takes effect after a restart",
                     {{"state_dir", cfg->daemon.state_dir}});
    }
    config_ = cfg;
    alerting_.apply(cfg);  // first: the scheduler's slot changes below reach its engine
    probe_endpoint_.set_config(cfg);
    scheduler_.apply(cfg);
    schedule_targets_files();
  }

  // Re-reads every targets_file on the worker every targets_file_reload.
  void schedule_targets_files() {
    if (targets_timer_ != 0) loop_.cancel(targets_timer_);
    targets_timer_ = loop_.after(config_->daemon.targets_file_reload, [this] {
      targets_timer_ = 0;
      auto cfg = config_;
      for (const auto& c : cfg->checks) {
        if (c.targets_file.empty()) continue;
        worker_.submit([this, name = c.name, path = c.targets_file] {
          auto t = config::read_targets_file(path);
          loop_.post([this, name, path, t = std::move(t)]() mutable {
            if (!t) {
              base::log_warn("targets_file not reloaded; keeping the old targets",
                             {{"check", name}, {"error", t.error()}});
              return;
            }
            // The same validation as at load time; bad entries are skipped, not probed.
            std::vector<config::Target> valid;
            const config::CheckConfig* check = config_ ? config_->find_check(name) : nullptr;
            const auto* type = check ? probes::find_probe_type(check->type) : nullptr;
            for (auto& target : *t) {
              auto problem = type && type->info.check_target ? type->info.check_target(target.address)
                                                             : std::nullopt;
              if (problem) {
                base::log_warn("targets_file entry skipped", {{"check", name}, {"error", *problem}});
                continue;
              }
              valid.push_back(std::move(target));
            }
            scheduler_.set_targets(name, std::move(valid));
          });
        });
      }
      schedule_targets_files();
    });
  }

  // Loads on the worker (file I/O), applies on the loop. done(ok, errors) runs on the loop.
  void reload(std::function<void(bool, std::string)> done) {
    if (stopping_) {  // a new config would start new runs in the middle of the drain
      base::log_warn("config reload ignored: shutting down");
      if (done) done(false, "shutting down\n");
      return;
    }
    sd_notify(0, "RELOADING=1");
    worker_.submit([this, done = std::move(done)] {
      auto res = std::make_shared<config::LoadResult>(load(path_));
      loop_.post([this, res, done] {
        if (stopping_) {  // SIGTERM came while the file was being read
          if (done) done(false, "shutting down\n");
          return;
        }
        if (res->ok()) {
          apply(res->config);
          daemon_metrics_.reload_result(true);
          base::log_info("config reloaded", {{"checks", std::to_string(scheduler_.slot_count())}});
        } else {
          daemon_metrics_.reload_result(false);
          for (const auto& d : res->diags.sorted()) {
            base::log_error("config reload rejected; the old config keeps running",
                            {{"error", config::to_string(d)}});
          }
        }
        sd_notify(0, "READY=1");
        if (done) done(res->ok(), diagnostics_text(res->diags));
      });
    });
  }

  std::pair<bool, std::string> reload_and_wait() {
    auto p = std::make_shared<std::promise<std::pair<bool, std::string>>>();
    auto f = p->get_future();
    loop_.post([this, p] { reload([p](bool ok, std::string t) { p->set_value({ok, t}); }); });
    if (f.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
      return {false, "reload timed out\n"};
    }
    return f.get();
  }

  io::Loop& loop_;
  io::AresPool ares_;
  probes::Services services_;
  prometheus::Registry registry_;
  exporters::DaemonMetrics daemon_metrics_;
  std::unique_ptr<exporters::MetricsExporter> exporter_;
  std::unique_ptr<exporters::StatusStore> status_;
  io::Worker worker_;
  exporters::alerts::Alerting alerting_;
  Scheduler scheduler_;
  OneShotRunner one_shot_;
  ProbeEndpoint probe_endpoint_;
  std::unique_ptr<HttpServer> server_;
  std::shared_ptr<const config::Config> config_;
  std::string path_;
  std::string listen_;
  std::string state_dir_;
  bool stopping_ = false;
  std::atomic<bool> ready_{false};
  std::atomic<int64_t> last_tick_{0};
  io::TimerId targets_timer_ = 0;
  std::function<void()> feed_;
};

}  // namespace

std::string default_config_path() {
  return access(kSystemConfig, F_OK) == 0 ? kSystemConfig : "";
}

// Before any thread starts. A scrape allocates and frees a few MB on one of civetweb's threads.
// With glibc's defaults each of those threads gets its own arena, which is shrunk as soon as
// 128 KiB lie free at its top and grown again by the next scrape: measured at 1,000 checks, 40%
// of a scrape's CPU went to those mprotect calls and page faults, and 8 threads' arenas held
// 57 MB. One shared arena for every thread but the loop's, kept instead of shrunk, costs a
// third less CPU per scrape and 48 MB. Large scrapes still trim explicitly (http_server.cpp).
static void tune_malloc() {
  mallopt(M_ARENA_MAX, 2);
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
  mallopt(M_TOP_PAD, 16 << 20);
}

int run_daemon(const RunOptions& opts) {
  tune_malloc();
  signal(SIGPIPE, SIG_IGN);
  // Before any thread starts, so every thread inherits the mask and signalfd gets them.
  io::Loop::block_signals({SIGTERM, SIGINT, SIGHUP});
  if (block_loop_seconds() > 0) io::Loop::block_signals({SIGUSR1});
  std::string path = opts.config_path.empty() ? default_config_path() : opts.config_path;
  auto res = load(path);
  if (!res.ok()) {
    res.diags.print(std::cerr);
    base::log_error("invalid config; not starting",
                    {{"config", path.empty() ? "<embedded default>" : path},
                     {"errors", std::to_string(res.diags.size())}});
    return 1;
  }
  auto loop = io::Loop::create();
  if (!loop) {
    base::log_error("cannot create event loop", {{"error", loop.error()}});
    return 1;
  }
  auto curl = io::CurlMulti::create(**loop);
  if (!curl) {
    base::log_error("cannot init libcurl", {{"error", curl.error()}});
    return 1;
  }
  Daemon d(**loop, **curl, path);
  return d.run(res.config);
}

}  // namespace probed::daemon
