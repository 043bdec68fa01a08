#include "daemon/probe_endpoint.h"

#include <future>
#include <sstream>

#include "daemon/base/log.h"
#include "daemon/base/redact.h"
#include "daemon/trace_text.h"
#include "exporters/metrics/result_gauges.h"

namespace probed::daemon {
namespace {

HttpAnswer answer(int status, std::string body) { return {status, "text/plain; charset=utf-8", std::move(body)}; }

}  // namespace

base::Duration probe_timeout(base::Duration check_timeout, std::optional<double> scrape_s) {
  if (!scrape_s || *scrape_s <= 0) return check_timeout;
  double s = *scrape_s > 0.5 ? *scrape_s - 0.5 : *scrape_s / 2;
  auto scrape = std::chrono::duration_cast<base::Duration>(std::chrono::duration<double>(s));
  return std::min(check_timeout, scrape);
}

void ProbeEndpoint::set_config(std::shared_ptr<const config::Config> cfg) {
  std::lock_guard<std::mutex> lock(mu_);
  cfg_ = std::move(cfg);
}

std::optional<HttpAnswer> ProbeEndpoint::refuse(const config::Config& cfg, const ProbeRequest& req) const {
  if (!cfg.probe_endpoint.enabled) {
    return answer(404, "/probe is disabled; set [probe_endpoint] enabled = true\n");
  }
  if (req.module.empty()) return answer(400, "module parameter is missing\n");
  const config::CheckConfig* check = cfg.find_check(req.module);
  if (check == nullptr) return answer(400, "unknown module \"" + req.module + "\" (no check of that name)\n");
  if (req.target.empty()) return answer(400, "target parameter is missing\n");
  if (!cfg.probe_endpoint.allows(req.target)) {
    return answer(403, "target is not allowed by [probe_endpoint] allowed_targets\n");
  }
  const auto* type = probes::find_probe_type(check->type);
  if (type == nullptr || type->make == nullptr) {
    return answer(400, "check type " + check->type + " cannot run\n");
  }
  if (type->info.check_target) {
    if (auto problem = type->info.check_target(req.target)) return answer(400, *problem + "\n");
  }
  return std::nullopt;
}

HttpAnswer ProbeEndpoint::handle(const ProbeRequest& req) {
  std::shared_ptr<const config::Config> cfg;
  {
    std::lock_guard<std::mutex> lock(mu_);
    cfg = cfg_;
  }
  if (!cfg) return answer(503, "not ready\n");
  if (auto no = refuse(*cfg, req)) {
    if (no->status == 403) {
      base::log_warn("/probe target denied", {{"module", req.module}, {"target", base::redact(req.target)}});
    }
    no->body = base::redact(no->body);
    return *no;
  }
  if (running_.fetch_add(1) >= kMaxConcurrent) {
    running_.fetch_sub(1);
    return answer(503, "too many /probe requests in flight\n");
  }
  HttpAnswer a = run(cfg, *cfg->find_check(req.module), req);
  running_.fetch_sub(1);
  return a;
}

HttpAnswer ProbeEndpoint::run(std::shared_ptr<const config::Config> cfg,
                              const config::CheckConfig& check, const ProbeRequest& req) {
  base::Duration timeout = probe_timeout(check.timeout, req.scrape_timeout_s);
  auto promise = std::make_shared<std::promise<probes::Result>>();
  auto future = promise->get_future();
  config::Target target{req.target, {}};
  loop_.post([this, cfg, &check, target, timeout, debug = req.debug, promise] {
    runner_.start(cfg, check, target, timeout, debug,
                  [promise](probes::Result r) { promise->set_value(std::move(r)); });
  });
  // The run ends itself at its deadline; the margin covers a busy loop.
  if (future.wait_for(timeout + std::chrono::seconds(2)) != std::future_status::ready) {
    return answer(503, "probe did not finish in time\n");
  }
  probes::Result r = future.get();
  std::ostringstream out;
  if (req.debug) {
    out << trace_text(check, target, r) << "\nmetrics:\n";
    exporters::write_probe_answer(out, check, r);
    return answer(200, base::redact(out.str()));
  }
  exporters::write_probe_answer(out, check, r);
  return {200, "text/plain; version=0.0.4; charset=utf-8", base::redact(out.str())};
}

}  // namespace probed::daemon
