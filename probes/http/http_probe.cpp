#include "probes/http/http_probe.h"

namespace probed::probes {

HttpProbe::HttpProbe(std::shared_ptr<const HttpSpec> spec, std::string url, Services& services)
    : spec_(spec), target_(std::move(url)), exchange_(std::move(spec), services) {}

void HttpProbe::start(Run& run) {
  ExchangeRequest req;
  req.url = target_;
  req.headers = spec_->headers;
  req.body = spec_->body;
  exchange_.start(run, std::move(req),
                  [&run](Result r, const HttpResponse* /*response*/) { run.finish(std::move(r)); });
}

std::unique_ptr<Probe> make_http_probe(const config::CheckConfig& check,
                                       const config::Target& target, Services& services) {
  return std::make_unique<HttpProbe>(std::static_pointer_cast<const HttpSpec>(check.spec),
                                     target.address, services);
}

}  // namespace probed::probes
