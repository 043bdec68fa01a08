// The type-specific gauges of one Result, as both the scheduled series (MetricsExporter) and
// the single-run /probe answer (probe_answer.h) export them: the probe's samples, the phase
// durations under blackbox's or probed's name, and the ssl gauges derived from the chain.
// Pure functions; any thread.
#pragma once

#include <prometheus/client_metric.h>

#include <ostream>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "probes/result.h"

namespace probed::exporters {

struct ResultGauge {
  std::string_view name;  // from probes/metric_names.h (static storage)
  std::vector<prometheus::ClientMetric::Label> extra;  // beyond the series labels
  double value;
};

std::vector<ResultGauge> result_gauges(const config::CheckConfig& check, const probes::Result& r);

// GET /probe: one run's metrics, unlabelled, as blackbox_exporter answers a probe
// (probe_success, probe_duration_seconds, then every gauge of the run), in the text format.
// No check/type/target labels and none of the daemon's counters.
void write_probe_answer(std::ostream& out, const config::CheckConfig& check, const probes::Result& r);

}  // namespace probed::exporters
