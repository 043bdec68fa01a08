// JourneyProbe: one (journey check, target). A run walks the steps in order, each one
// HttpExchange (the http probe's request, redirect and assertion code) sharing one cookie jar
// (a curl share handle, fresh per run) and one set of variables; values extracted by a step
// are visible to the later ones. The run stops at the first failed step; later steps are
// reported as not run. The run's deadline covers the whole journey. Loop thread only.
#pragma once

#include <curl/curl.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "probes/http/http_exchange.h"
#include "probes/journey/journey_spec.h"
#include "probes/probe.h"

namespace probed::probes {

class JourneyProbe : public Probe {
 public:
  JourneyProbe(std::shared_ptr<const JourneySpec> spec, std::string target, Services& services);
  ~JourneyProbe() override;

  // Probe
  void start(Run& run) override;
  Result on_deadline() override;
  void cancel() override;

 private:
  void start_step();
  base::Expected<ExchangeRequest> render(const JourneyStep& step) const;
  std::vector<std::pair<std::string, std::string>> hidden() const;
  void on_step_done(Result step_result, const HttpResponse* response);
  bool extract(const JourneyStep& step, const HttpResponse& response, Result& step_result);
  void absorb(const Result& step_result);
  void fail_step(FailureReason reason, const std::string& message);
  Result build_result();
  void release_jar();

  std::shared_ptr<const JourneySpec> spec_;
  std::string target_;
  Services& services_;
  std::vector<std::unique_ptr<HttpExchange>> exchanges_;  // one per step

  // Per run.
  Run* run_ = nullptr;
  CURLSH* jar_ = nullptr;
  Variables vars_;
  std::set<std::string> extracted_;  // names whose values came from responses
  size_t step_ = 0;                  // the step running (== steps.size() when all passed)
  base::TimePoint step_started_;
  std::vector<double> step_seconds_;
  std::vector<bool> step_ok_;
  Result result_;
  std::vector<Sample> last_samples_;  // http samples of the last step that ran
  double dns_seconds_ = 0;
  double redirects_ = 0;
  uint64_t gen_ = 0;  // bumped by start() and cancel(): stale deferred work checks it
};

std::unique_ptr<Probe> make_journey_probe(const config::CheckConfig& check,
                                          const config::Target& target, Services& services);

}  // namespace probed::probes
