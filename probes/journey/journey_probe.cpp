#include "probes/journey/journey_probe.h"

#include <algorithm>
#include <cstdio>
#include <limits>

#include "probes/http/http_failure.h"
#include "probes/metric_names.h"

namespace probed::probes {
namespace {

std::string ms_text(double seconds) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f ms", seconds * 1000);
  return buf;
}

double earliest_expiry(const std::vector<CertInfo>& chain) {
  double out = std::numeric_limits<double>::max();
  for (const auto& c : chain) out = std::min(out, static_cast<double>(c.not_after));
  return out;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

}  // namespace

JourneyProbe::JourneyProbe(std::shared_ptr<const JourneySpec> spec, std::string target,
                           Services& services)
    : spec_(std::move(spec)), target_(std::move(target)), services_(services) {
  for (const auto& step : spec_->steps) {
    exchanges_.push_back(std::make_unique<HttpExchange>(step.http, services_));
  }
}

JourneyProbe::~JourneyProbe() { cancel(); }

void JourneyProbe::start(Run& run) {
  cancel();
  run_ = &run;
  // A fresh cookie jar per run: a journey walks in as a new visitor every time.
  jar_ = curl_share_init();
  if (jar_ != nullptr) curl_share_setopt(jar_, CURLSHOPT_SHARE, CURL_LOCK_DATA_COOKIE);
  vars_ = spec_->variables;
  vars_[std::string(kTargetVariable)] = target_;
  extracted_.clear();
  step_ = 0;
  step_seconds_.assign(spec_->steps.size(), 0);
  step_ok_.assign(spec_->steps.size(), false);
  result_ = Result{};
  last_samples_.clear();
  dns_seconds_ = 0;
  redirects_ = 0;
  // Steps start from the loop, never from inside start() (a render failure finishes the run).
  services_.loop.defer([this, gen = gen_] {
    if (gen != gen_ || run_ == nullptr) return;
    if (jar_ == nullptr) return fail_step(FailureReason::Error, "curl_share_init failed");
    start_step();
  });
}

base::Expected<ExchangeRequest> JourneyProbe::render(const JourneyStep& step) const {
  ExchangeRequest req;
  auto url = step.url.render(vars_);
  if (!url) return base::unexpected(url.error());
  req.url = std::move(*url);
  req.display_url = step.url.display(vars_, extracted_);
  for (const auto& [name, value] : step.headers) {
    auto v = value.render(vars_);
    if (!v) return base::unexpected(v.error());
    req.headers.emplace_back(name, std::move(*v));
  }
  auto body = step.body.render(vars_);
  if (!body) return base::unexpected(body.error());
  req.body = std::move(*body);
  req.need_body = step.needs_body();
  req.cookies = jar_;
  req.hide = hidden();
  return req;
}

// Extracted values (tokens, session ids) as they are shown in traces and messages: ${name}.
std::vector<std::pair<std::string, std::string>> JourneyProbe::hidden() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& name : extracted_) {
    auto it = vars_.find(name);
    if (it != vars_.end()) out.emplace_back(it->second, "${" + name + "}");
  }
  return out;
}

void JourneyProbe::start_step() {
  const JourneyStep& step = spec_->steps[step_];
  run_->trace("step " + std::to_string(step_ + 1) + "/" + std::to_string(spec_->steps.size()) +
              " '" + step.name + "'");
  step_started_ = base::Clock::now();
  auto req = render(step);
  if (!req) {
    // Load-time checks make this unreachable for configs that passed them; kept as data.
    return fail_step(FailureReason::Extract, "variable '" + req.error() + "' is not defined");
  }
  exchanges_[step_]->start(*run_, std::move(*req), [this](Result r, const HttpResponse* resp) {
    on_step_done(std::move(r), resp);
  });
}

bool JourneyProbe::extract(const JourneyStep& step, const HttpResponse& response,
                           Result& step_result) {
  std::vector<std::string> names;
  for (const auto& [var, extractor] : step.extract) {
    auto v = extractor.extract(response);
    if (!v) {
      step_result.success = false;
      step_result.reason = FailureReason::Extract;
      step_result.message = "cannot extract '" + var + "' (" + extractor.spec() + "): " + v.error();
      return false;
    }
    vars_[var] = std::move(*v);
    extracted_.insert(var);
    names.push_back(var);
  }
  // Names only: extracted values (tokens, session ids) never reach a trace.
  if (!names.empty()) run_->trace("extracted " + join(names));
  return true;
}

void JourneyProbe::absorb(const Result& r) {
  for (const auto& p : r.phases) result_.add_phase(p.phase, p.duration);
  // The chain that expires first over all https steps: probe_ssl_earliest_cert_expiry is the
  // minimum, as for one http target with redirects.
  if (!r.chain.empty() &&
      (result_.chain.empty() || earliest_expiry(r.chain) < earliest_expiry(result_.chain))) {
    result_.chain = r.chain;
  }
  last_samples_.clear();
  for (const auto& s : r.samples) {
    if (s.name == names::kDnsLookupTime) dns_seconds_ += s.value;
    else if (s.name == names::kHttpRedirects) redirects_ += s.value;
    else last_samples_.push_back(s);
  }
}

void JourneyProbe::on_step_done(Result r, const HttpResponse* response) {
  const JourneyStep& step = spec_->steps[step_];
  step_seconds_[step_] = base::to_seconds(base::Clock::now() - step_started_);
  absorb(r);
  if (r.success && response != nullptr) extract(step, *response, r);
  if (!r.success) return fail_step(r.reason, hide_values(r.message, hidden()));
  step_ok_[step_] = true;
  run_->trace("step '" + step.name + "' passed in " + ms_text(step_seconds_[step_]));
  if (++step_ < spec_->steps.size()) {
    services_.loop.defer([this, gen = gen_] {
      if (gen == gen_ && run_ != nullptr) start_step();
    });
    return;
  }
  result_.success = true;
  result_.message = "all " + std::to_string(spec_->steps.size()) + " steps passed";
  Result out = build_result();
  Run* run = run_;
  cancel();
  run->finish(std::move(out));
}

void JourneyProbe::fail_step(FailureReason reason, const std::string& message) {
  const std::string& name = spec_->steps[step_].name;
  run_->trace("step '" + name + "' failed in " + ms_text(step_seconds_[step_]) + ": " + message);
  result_.fail_with(reason, "step '" + name + "': " + message);
  Result out = build_result();
  Run* run = run_;
  cancel();
  run->finish(std::move(out));
}

// Steps that did not run report success 0 and duration 0: "did not succeed" is what an alert
// on probe_journey_step_success == 0 should see, and a missing series would look like no data.
Result JourneyProbe::build_result() {
  for (size_t i = step_ + 1; i < spec_->steps.size() && !result_.success; ++i) {
    run_->trace("step '" + spec_->steps[i].name + "' not run");
  }
  Result r = std::move(result_);
  result_ = Result{};
  r.add_sample(names::kDnsLookupTime, dns_seconds_);
  r.add_sample(names::kHttpRedirects, redirects_);
  for (auto& s : last_samples_) r.samples.push_back(std::move(s));
  last_samples_.clear();
  for (size_t i = 0; i < spec_->steps.size(); ++i) {
    Labels step{{std::string(names::kStep), spec_->steps[i].name}};
    r.add_sample(names::kJourneyStepSuccess, step_ok_[i] ? 1 : 0, step);
    r.add_sample(names::kJourneyStepDuration, step_seconds_[i], step);
  }
  return r;
}

Result JourneyProbe::on_deadline() {
  if (run_ == nullptr || step_ >= spec_->steps.size()) {
    cancel();
    return Result{};
  }
  const std::string name = spec_->steps[step_].name;
  // The step may not have started yet (its start is deferred): then there is nothing to add.
  Result partial = exchanges_[step_]->active() ? exchanges_[step_]->on_deadline() : Result{};
  step_seconds_[step_] = base::to_seconds(base::Clock::now() - step_started_);
  absorb(partial);
  std::string where = partial.message.empty() ? "timeout" : hide_values(partial.message, hidden());
  run_->trace("step '" + name + "' failed in " + ms_text(step_seconds_[step_]) + ": " + where);
  result_.fail_with(FailureReason::Timeout, "step '" + name + "': " + where);
  Result out = build_result();
  cancel();
  return out;
}

void JourneyProbe::release_jar() {
  if (jar_ != nullptr) curl_share_cleanup(jar_);
  jar_ = nullptr;
}

void JourneyProbe::cancel() {
  ++gen_;
  for (auto& e : exchanges_) e->cancel();  // detaches every easy handle from the jar
  release_jar();
  run_ = nullptr;
}

std::unique_ptr<Probe> make_journey_probe(const config::CheckConfig& check,
                                          const config::Target& target, Services& services) {
  return std::make_unique<JourneyProbe>(std::static_pointer_cast<const JourneySpec>(check.spec),
                                        target.address, services);
}

}  // namespace probed::probes
