// The scheduler on a real Loop with real probes: runs happen on their grid, max_inflight
// holds, a run due while the previous one is still waiting or running is skipped and
// counted, and lag is measured.
#include <catch2/catch.hpp>

#include <prometheus/registry.h>

#include "config/loader.h"
#include "daemon/scheduler.h"
#include "tests/harness/fault_server.h"
#include "tests/harness/nginx.h"
#include "tests/probes/probe_runner.h"

using namespace probed;
using namespace probed::testing;
using namespace std::chrono_literals;

namespace {

struct Recorder : exporters::ResultSink {
  struct Entry {
    std::string check;
    base::TimePoint finished;
    probes::Result result;
  };
  std::vector<Entry> entries;
  size_t max_inflight_seen = 0;
  daemon::Scheduler* sched = nullptr;
  void on_result(const config::CheckConfig& c, const config::Target&, const probes::Result& r) override {
    entries.push_back({c.name, base::Clock::now(), r});
  }
  void on_removed(const exporters::CheckKey&) override {}
};

double metric(prometheus::Registry& reg, const std::string& name, const std::string& label_value = "") {
  for (const auto& fam : reg.Collect()) {
    if (fam.name != name) continue;
    for (const auto& m : fam.metric) {
      bool match = label_value.empty();
      for (const auto& l : m.label) match = match || l.value == label_value;
      if (!match) continue;
      if (fam.type == prometheus::MetricType::Counter) return m.counter.value;
      if (fam.type == prometheus::MetricType::Gauge) return m.gauge.value;
      if (fam.type == prometheus::MetricType::Histogram) return static_cast<double>(m.histogram.sample_count);
    }
  }
  return -1;
}

struct Harness {
  std::unique_ptr<io::Loop> loop = std::move(*io::Loop::create());
  std::unique_ptr<io::CurlMulti> curl = std::move(*io::CurlMulti::create(*loop));
  io::AresPool ares{*loop};
  probes::Services services{*loop, *curl, ares};
  prometheus::Registry registry;
  exporters::DaemonMetrics metrics{registry};
  daemon::Scheduler scheduler{*loop, services, metrics};
  Recorder rec;
  std::shared_ptr<const config::Config> cfg;

  explicit Harness(const std::string& toml) {
    auto r = config::load_config_text(toml, "t.toml", "/tmp", probes::config_probe_types());
    std::ostringstream ss;
    r.diags.print(ss);
    INFO(ss.str());
    REQUIRE(r.ok());
    cfg = r.config;
    scheduler.add_sink(&rec);
  }
  void run_for(base::Duration d) {
    auto end = base::Clock::now() + d;
    loop->run_until([&] {
      rec.max_inflight_seen = std::max(rec.max_inflight_seen, scheduler.inflight());
      return base::Clock::now() >= end;
    }, d + 1s);
  }
};

std::string check(const std::string& name, const std::string& url, const std::string& extra = "") {
  return "[[checks]]\nname = \"" + name + "\"\ntype = \"http\"\ntargets = [\"" + url + "\"]\n" + extra;
}

}  // namespace

TEST_CASE("scheduler: every check runs once per interval, on its grid", "[daemon][scheduler]") {
  Nginx nginx({NginxServer{"plain"}});
  Harness h(check("a", nginx.url("plain", "/healthz"), "interval = \"1s\"\n") +
            check("b", nginx.url("plain", "/status/503"), "interval = \"1s\"\n"));
  h.scheduler.apply(h.cfg);
  CHECK(h.scheduler.slot_count() == 2);
  h.run_for(3500ms);
  size_t a = 0, b = 0;
  std::vector<base::TimePoint> a_starts;
  for (const auto& e : h.rec.entries) {
    if (e.check == "a") {
      ++a;
      a_starts.push_back(e.finished - e.result.duration);
      CHECK(e.result.success);
    } else {
      ++b;
      CHECK(e.result.reason == probes::FailureReason::Status);
    }
  }
  // The first run is somewhere in the first second, then one per second: 3 or 4 runs.
  CHECK(a >= 3);
  CHECK(a <= 4);
  CHECK(b >= 3);
  for (size_t i = 1; i < a_starts.size(); ++i) {
    auto gap = a_starts[i] - a_starts[i - 1];
    CHECK(gap > 980ms);
    CHECK(gap < slack(1020ms));
  }
  CHECK(metric(h.registry, "probed_schedule_lag_seconds") >= 6);
  CHECK(metric(h.registry, "probed_checks") == 2);
}

TEST_CASE("scheduler: max_inflight holds and a run still waiting when due is skipped and counted",
          "[daemon][scheduler]") {
  // Three checks against a server that answers after 800 ms, at most one probe at a time:
  // every second three runs are due but only about one fits, so the others wait and then
  // are skipped when due again.
  FaultServer slow({FaultMode::Delay, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", {}, 800ms});
  std::string toml = "[daemon]\nmax_inflight = 1\n";
  for (const char* n : {"s1", "s2", "s3"}) toml += check(n, slow.url(std::string("/") + n), "interval = \"1s\"\ntimeout = \"900ms\"\n");
  Harness h(toml);
  h.scheduler.apply(h.cfg);
  h.run_for(4500ms);
  CHECK(h.rec.max_inflight_seen == 1);
  CHECK_FALSE(h.rec.entries.empty());
  double skipped = 0;
  for (const char* n : {"s1", "s2", "s3"}) skipped += std::max(0.0, metric(h.registry, "probed_runs_skipped_total", n));
  CHECK(skipped >= 3);
  // Nothing piles up: at most one run in flight, and fewer finished runs than were due.
  CHECK(h.rec.entries.size() <= 6);
}

TEST_CASE("scheduler: apply keeps unchanged slots and drops removed ones", "[daemon][scheduler]") {
  Nginx nginx({NginxServer{"plain"}});
  const std::string a = check("a", nginx.url("plain", "/healthz"), "interval = \"1s\"\n");
  const std::string b = check("b", nginx.url("plain", "/healthz"), "interval = \"1s\"\n");
  Harness h(a + b);
  h.scheduler.apply(h.cfg);
  h.run_for(1200ms);
  size_t before = h.rec.entries.size();
  CHECK(before >= 2);
  auto next = config::load_config_text(a, "t.toml", "/tmp", probes::config_probe_types());
  REQUIRE(next.ok());
  h.scheduler.apply(next.config);
  CHECK(h.scheduler.slot_count() == 1);
  h.rec.entries.clear();
  h.run_for(2100ms);
  for (const auto& e : h.rec.entries) CHECK(e.check == "a");
  CHECK(h.rec.entries.size() >= 2);
}

// Drain (SIGTERM): no new runs, running ones finish by their probe or their deadline and
// reach the sinks, anything still running at the bound is abandoned.
TEST_CASE("scheduler: drain lets a running probe end at its deadline and starts nothing new",
          "[daemon][scheduler][shutdown]") {
  FaultServer hang({FaultMode::AcceptSilent});
  Harness h(check("h", hang.url("/"), "interval = \"1s\"\ntimeout = \"900ms\"\n") +
            check("other", hang.url("/o"), "interval = \"1s\"\ntimeout = \"900ms\"\n"));
  h.scheduler.apply(h.cfg);
  REQUIRE(h.loop->run_until([&] { return h.scheduler.inflight() >= 1; }, 3s));
  size_t before = h.rec.entries.size();
  size_t running = h.scheduler.inflight();
  bool done = false;
  auto t0 = base::Clock::now();
  h.scheduler.drain(5s, [&] { done = true; });
  REQUIRE(h.loop->run_until([&] { return done; }, slack(3s)));
  // Done at the deadline (under 900 ms), far before the 5 s bound, with a timeout per run.
  CHECK(base::Clock::now() - t0 < slack(1500ms));
  REQUIRE(h.rec.entries.size() == before + running);
  CHECK(h.rec.entries.back().result.reason == probes::FailureReason::Timeout);
  CHECK(h.scheduler.inflight() == 0);
  h.run_for(2500ms);  // both would be due twice more: nothing starts
  CHECK(h.rec.entries.size() == before + running);
}

TEST_CASE("scheduler: drain abandons what is still running at its bound", "[daemon][scheduler][shutdown]") {
  FaultServer hang({FaultMode::AcceptSilent});
  Harness h(check("h", hang.url("/"), "interval = \"1s\"\ntimeout = \"900ms\"\n"));
  h.scheduler.apply(h.cfg);
  REQUIRE(h.loop->run_until([&] { return h.scheduler.inflight() == 1; }, 3s));
  size_t before = h.rec.entries.size();
  bool done = false;
  auto t0 = base::Clock::now();
  h.scheduler.drain(200ms, [&] { done = true; });
  REQUIRE(h.loop->run_until([&] { return done; }, slack(2s)));
  CHECK(base::Clock::now() - t0 < slack(600ms));  // the bound, not the run's deadline
  CHECK(h.rec.entries.size() == before);          // abandoned: no Result
  CHECK(h.scheduler.inflight() == 0);
}

TEST_CASE("scheduler: drain with nothing running is done at once", "[daemon][scheduler][shutdown]") {
  Nginx nginx({NginxServer{"plain"}});
  Harness h(check("a", nginx.url("plain", "/healthz"), "interval = \"1s\"\n"));
  h.scheduler.apply(h.cfg);
  h.run_for(1500ms);
  REQUIRE(h.loop->run_until([&] { return h.scheduler.inflight() == 0; }, 2s));
  size_t before = h.rec.entries.size();
  bool done = false;
  h.scheduler.drain(5s, [&] { done = true; });
  CHECK_FALSE(done);  // never inside the caller
  REQUIRE(h.loop->run_until([&] { return done; }, 200ms));
  h.run_for(1500ms);
  CHECK(h.rec.entries.size() == before);
}
