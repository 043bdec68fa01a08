// The per-check text writer (exporters/metrics/text_format.h) against prometheus-cpp's
// TextSerializer, byte for byte, on families with hard label values and help text; and the
// MetricsExporter's whole output for checks that ran, failed and never ran.
#include <catch2/catch.hpp>

#include <prometheus/text_serializer.h>

#include <cmath>
#include <limits>
#include <sstream>

#include "exporters/metrics/metrics_exporter.h"
#include "exporters/metrics/text_format.h"
#include "probes/metric_names.h"

using namespace probed;
using exporters::RenderedLabel;
using exporters::TextWriter;
using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

namespace {

using Labels = std::vector<ClientMetric::Label>;

// Labels whose values need every escape the format has, and some that need none.
const Labels kHard = {{"check", "quote \" back\\slash"},
                      {"target", "http://127.0.0.1/?a=1&b=\"2\""},
                      {"team", "line\nbreak, comma = equals {brace} é"}};

std::string serialized(const std::vector<MetricFamily>& families) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// The value of the one line that starts with `series` ("name{labels}"), as text.
std::string value_of(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(series + " ", 0) == 0) return line.substr(series.size() + 1);
  }
  return "<absent>";
}

}  // namespace

TEST_CASE("metrics text: gauges and counters match prometheus-cpp's serializer byte for byte", "[unit][metrics]") {
  const std::vector<double> values = {0, 3, -7, 0.25, -1.5, 1000000, 1e-05, 0.1, 1.0 / 3,
                                      std::numeric_limits<double>::infinity(),
                                      -std::numeric_limits<double>::infinity(),
                                      std::numeric_limits<double>::quiet_NaN()};
  MetricFamily gauge{"probe_x", "Help, \"quoted\"", MetricType::Gauge, {}};
  MetricFamily counter{"probe_y_total", "", MetricType::Counter, {}};
  std::ostringstream mine;
  {
    TextWriter w(mine);
    auto labels = exporters::render_labels(kHard);
    w.family(gauge.name, gauge.help, gauge.type);
    for (double v : values) {
      ClientMetric m;
      m.label = kHard;
      m.gauge.value = v;
      gauge.metric.push_back(m);
      w.sample(gauge.name, "", labels, {}, v);
    }
    // An extra label merged in by name: between "check" and "target", and after all.
    std::vector<RenderedLabel> mid = {exporters::render_label("reason", "con\"nect")};
    std::vector<RenderedLabel> end = {exporters::render_label("zone", "a"), exporters::render_label("zz", "b")};
    w.family(counter.name, counter.help, counter.type);
    for (const auto* extra : {&mid, &end}) {
      ClientMetric m;
      m.label = kHard;
      for (const auto& e : *extra) {
        std::string value = e.name == "reason" ? "con\"nect" : e.name == "zone" ? "a" : "b";
        auto at = std::find_if(m.label.begin(), m.label.end(), [&](const auto& l) { return l.name > e.name; });
        m.label.insert(at, {e.name, value});
      }
      m.counter.value = 42;
      counter.metric.push_back(m);
      w.sample(counter.name, "", labels, *extra, 42);
    }
    // No labels at all.
    ClientMetric bare;
    bare.counter.value = 5;
    counter.metric.push_back(bare);
    w.sample(counter.name, "", {}, {}, 5);
  }
  CHECK(mine.str() == serialized({gauge, counter}));
  CHECK(count(mine.str(), "\\\"") > 0);
  CHECK(count(mine.str(), "\\n") > 0);
}

TEST_CASE("metrics text: HELP escapes backslash and newline, as the format says", "[unit][metrics]") {
  // (prometheus-cpp 1.0's serializer writes HELP text raw: a newline there breaks the scrape.)
  std::ostringstream out;
  {
    TextWriter w(out);
    w.family("probe_x", "back\\slash and\nnewline \"quoted\"", MetricType::Gauge);
  }
  CHECK(out.str() == "# HELP probe_x back\\\\slash and\\nnewline \"quoted\"\n# TYPE probe_x gauge\n");
}

TEST_CASE("metrics text: a histogram matches prometheus-cpp's serializer, le last", "[unit][metrics]") {
  const auto& bounds = exporters::MetricsExporter::latency_buckets();
  MetricFamily h{"probe_latency_seconds", "Duration", MetricType::Histogram, {}};
  ClientMetric m;
  m.label = kHard;
  std::vector<RenderedLabel> les;
  for (size_t i = 0; i < bounds.size(); ++i) {
    m.histogram.bucket.push_back({i * 2, bounds[i]});
    std::ostringstream b;
    b << bounds[i];
    les.push_back(exporters::render_label("le", b.str()));
  }
  m.histogram.bucket.push_back({bounds.size() * 2, std::numeric_limits<double>::infinity()});
  les.push_back(exporters::render_label("le", "+Inf"));
  m.histogram.sample_count = bounds.size() * 2;
  m.histogram.sample_sum = 12.5;
  h.metric.push_back(m);
  std::ostringstream mine;
  {
    TextWriter w(mine);
    auto labels = exporters::render_labels(kHard);
    w.family(h.name, h.help, h.type);
    w.sample(h.name, "_count", labels, {}, static_cast<double>(m.histogram.sample_count));
    w.sample(h.name, "_sum", labels, {}, 12.5);
    for (size_t i = 0; i < les.size(); ++i) w.sample(h.name, "_bucket", labels, {&les[i], 1}, i * 2.0);
  }
  CHECK(mine.str() == serialized({h}));
}

TEST_CASE("metrics text: the exporter writes every family once with the values of the runs", "[unit][metrics]") {
  exporters::MetricsExporter ex("edge-1");
  config::CheckConfig api;
  api.name = "api \"v2\"";
  api.type = "http";
  config::CheckConfig idle = api;
  idle.name = "idle";
  config::Target t{"http://127.0.0.1:8080/", {}};
  ex.on_added(api, t);
  ex.on_added(idle, t);
  auto ok = probes::Result::ok();
  ok.duration = std::chrono::milliseconds(20);
  ok.samples.push_back({names::kHttpStatusCode, {}, 200});
  ok.phases.push_back({"connect", std::chrono::milliseconds(2)});
  auto bad = probes::Result::fail(probes::FailureReason::Connect, "refused");
  bad.duration = std::chrono::milliseconds(1);
  ex.on_result(api, t, ok);
  ex.on_result(api, t, bad);
  ex.on_result(api, t, ok);

  std::ostringstream out;
  ex.write(out);
  const std::string text = out.str();
  INFO(text);
  const std::string api_labels =
      R"(check="api \"v2\"",location="edge-1",target="http://127.0.0.1:8080/",type="http")";
  const std::string idle_labels = R"(check="idle",location="edge-1",target="http://127.0.0.1:8080/",type="http")";
  for (const char* family : {"probe_success", "probe_duration_seconds", "probe_last_run_timestamp_seconds",
                             "probe_runs_total", "probe_failures_total", "probe_latency_seconds",
                             "probe_http_status_code", "probe_http_duration_seconds"}) {
    CHECK(count(text, std::string("# TYPE ") + family + " ") == 1);
  }
  CHECK(value_of(text, "probe_success{" + api_labels + "}") == "1");
  CHECK(value_of(text, "probe_success{" + idle_labels + "}") == "<absent>");  // never ran
  CHECK(value_of(text, "probe_runs_total{" + api_labels + "}") == "3");
  CHECK(value_of(text, "probe_runs_total{" + idle_labels + "}") == "0");
  CHECK(value_of(text, R"(probe_failures_total{check="api \"v2\"",location="edge-1",reason="connect",target="http://127.0.0.1:8080/",type="http"})") == "1");
  CHECK(value_of(text, R"(probe_failures_total{check="idle",location="edge-1",reason="timeout",target="http://127.0.0.1:8080/",type="http"})") == "0");
  CHECK(count(text, "probe_failures_total{check=\"idle\"") == probes::all_failure_reasons().size());
  CHECK(value_of(text, "probe_latency_seconds_count{" + api_labels + "}") == "3");
  CHECK(value_of(text, "probe_latency_seconds_sum{" + api_labels + "}") == "0.041");
  CHECK(value_of(text, "probe_latency_seconds_bucket{" + api_labels + ",le=\"0.005\"}") == "1");
  CHECK(value_of(text, "probe_latency_seconds_bucket{" + api_labels + ",le=\"0.025\"}") == "3");
  CHECK(value_of(text, "probe_latency_seconds_bucket{" + api_labels + ",le=\"+Inf\"}") == "3");
  CHECK(value_of(text, "probe_http_status_code{" + api_labels + "}") == "200");
  CHECK(value_of(text, R"(probe_http_duration_seconds{check="api \"v2\"",location="edge-1",phase="connect",target="http://127.0.0.1:8080/",type="http"})") == "0.002");

  ex.on_removed({api.name, t.address});
  std::ostringstream after;
  ex.write(after);
  CHECK(count(after.str(), "api") == 0);
  CHECK(count(after.str(), "# TYPE probe_success ") == 0);  // no series left: no header either
}
