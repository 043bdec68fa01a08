// JourneySpec: the compiled [checks.journey] table (SPEC §2): variables and ordered steps, each
// an HTTP request with every [checks.http] option and assertion (HttpSpec, read by the same
// code), whose url, header values and body are templates. Built at config load, immutable
// afterwards, shared by every target of the check.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/config.h"
#include "config/reader.h"
#include "probes/http/http_spec.h"
#include "probes/journey/extractor.h"
#include "probes/journey/template.h"

namespace probed::probes {

struct JourneyStep {
  std::string name;                      // unique within the journey; the `step` label
  std::shared_ptr<const HttpSpec> http;  // method, assertions, tls, auth... (not headers/body)
  Template url;
  std::vector<std::pair<std::string, Template>> headers;  // sorted by name
  Template body;
  std::vector<std::pair<std::string, Extractor>> extract;  // variable -> how, in config order
  bool needs_body() const;
};

struct JourneySpec : config::ProbeSpec {
  Variables variables;  // [checks.journey] variables, ${env:}/${file:} expanded
  std::vector<JourneyStep> steps;

  // The first step whose URL is https (for this target) gives the thresholds.
  std::optional<CertThresholds> cert_thresholds(std::string_view target) const override;
};

// The variable every journey run defines: the target (the check name when it has none).
inline constexpr std::string_view kTargetVariable = "target";

std::shared_ptr<const config::ProbeSpec> parse_journey(config::TableReader& t);

}  // namespace probed::probes
