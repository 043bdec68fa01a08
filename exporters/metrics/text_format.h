// The Prometheus text format (0.0.4) for the per-check families of MetricsExporter, written
// into a buffer and handed to the scrape's stream in 64 KB blocks.
//
// Why not prometheus-cpp's TextSerializer here (it still writes the daemon's own registry):
// it escapes every label value one ostream insertion per character and formats numbers
// through the stream. At 1,000 checks (42,000 series, 4.9 MB a scrape) that was 16% of
// probed's whole CPU at 100 probes/s. Here a series' labels are escaped once, when its slot
// is created, and a scrape appends them as ready text; numbers go through std::to_chars.
// tests/unit/metrics_text_test.cpp holds this output against TextSerializer's for the same
// families, including escaping.
#pragma once

#include <prometheus/client_metric.h>
#include <prometheus/metric_type.h>

#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace probed::exporters {

// A series' labels, sorted by name, each rendered once as `name="escaped value"`.
struct RenderedLabel {
  std::string name;
  std::string text;
};
using RenderedLabels = std::vector<RenderedLabel>;

// A sample value as the format writes it: whole numbers as integers ("1000000", not
// "1e+06"), others as the shortest text that reads back exactly; Nan, +Inf, -Inf.
void append_number(std::string& out, double v);

RenderedLabels render_labels(const std::vector<prometheus::ClientMetric::Label>& sorted);
RenderedLabel render_label(std::string_view name, std::string_view value);

class TextWriter {
 public:
  explicit TextWriter(std::ostream& out) : out_(out) {}
  ~TextWriter() { flush(); }
  TextWriter(const TextWriter&) = delete;
  TextWriter& operator=(const TextWriter&) = delete;

  // "# HELP" and "# TYPE" lines: once per family, before its samples.
  void family(std::string_view name, std::string_view help, prometheus::MetricType type);
  // One sample line: name + suffix ("_bucket", "" ...), the series labels with `extra`
  // (sorted by name) merged in by name, and the value.
  void sample(std::string_view name, std::string_view suffix, const RenderedLabels& labels,
              std::span<const RenderedLabel> extra, double value);
  void flush();

 private:
  std::ostream& out_;
  std::string buf_;
};

}  // namespace probed::exporters
