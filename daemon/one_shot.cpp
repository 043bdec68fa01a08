#include "daemon/one_shot.h"

namespace probed::daemon {

void OneShotRunner::start(std::shared_ptr<const config::Config> cfg,
                          const config::CheckConfig& check, config::Target target,
                          base::Duration timeout, bool trace, DoneFn done) {
  const probes::ProbeType* type = probes::find_probe_type(check.type);
  uint64_t id = ++next_id_;
  auto job = std::make_unique<Job>();
  job->cfg = std::move(cfg);
  job->target = std::move(target);
  if (type == nullptr || type->make == nullptr) {
    services_.loop.defer([done = std::move(done), name = check.type] {
      done(probes::Result::fail(probes::FailureReason::Error, "check type " + name + " cannot run"));
    });
    return;
  }
  job->probe = type->make(check, job->target, services_);
  Job* raw = job.get();
  jobs_.emplace(id, std::move(job));
  raw->run = probes::Run::start(*raw->probe, services_.loop, timeout, trace,
                                [this, id, done = std::move(done)](probes::Result r) {
    auto it = jobs_.find(id);
    if (it == jobs_.end()) return;
    // We are inside the Run's finish(): release the job later, on the loop (DESIGN §10.6).
    std::shared_ptr<Job> finished(std::move(it->second));
    jobs_.erase(it);
    services_.loop.defer([finished] {});
    done(std::move(r));
  });
}

void OneShotRunner::stop() {
  for (auto& [id, job] : jobs_) {
    if (job->run) job->run->abandon();
  }
  jobs_.clear();
}

}  // namespace probed::daemon
