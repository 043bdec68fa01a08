// HttpProbe: one (http check, target). Each run is one HttpExchange against the target with
// the spec's headers and body. Loop thread only.
#pragma once

#include <memory>
#include <string>

#include "probes/http/http_exchange.h"
#include "probes/http/http_spec.h"
#include "probes/probe.h"

namespace probed::probes {

class HttpProbe : public Probe {
 public:
  HttpProbe(std::shared_ptr<const HttpSpec> spec, std::string url, Services& services);

  // Probe
  void start(Run& run) override;
  Result on_deadline() override { return exchange_.on_deadline(); }
  void cancel() override { exchange_.cancel(); }

 private:
  std::shared_ptr<const HttpSpec> spec_;
  std::string target_;
  HttpExchange exchange_;
};

std::unique_ptr<Probe> make_http_probe(const config::CheckConfig& check,
                                       const config::Target& target, Services& services);

}  // namespace probed::probes
