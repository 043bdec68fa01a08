#include "probes/probe.h"

#include "config/duration.h"

namespace probed::probes {

Run::Run(Probe& probe, io::Loop& loop, bool trace, DoneFn done)
    : probe_(probe), loop_(loop), trace_(trace), done_(std::move(done)) {}

Run::~Run() {
  if (deadline_timer_ != 0) loop_.cancel(deadline_timer_);
}

std::unique_ptr<Run> Run::start(Probe& probe, io::Loop& loop, base::Duration timeout, bool trace,
                                DoneFn done) {
  std::unique_ptr<Run> run(new Run(probe, loop, trace, std::move(done)));
  // Time the run from the real clock, not the loop's cached now: the scheduler may start many
  // runs in one iteration.
  run->started_ = base::Clock::now();
  run->deadline_ = run->started_ + timeout;
  Run* raw = run.get();
  run->deadline_timer_ = loop.at(run->deadline_, [raw, timeout] {
    raw->deadline_timer_ = 0;
    if (raw->finished_) return;
    Result r = raw->probe_.on_deadline();
    r.success = false;
    r.reason = FailureReason::Timeout;
    if (r.message.empty()) r.message = "timeout after " + config::format_duration(timeout);
    raw->finish(std::move(r));
  });
  probe.start(*run);
  return run;
}

void Run::trace(std::string text) {
  if (!trace_) return;
  lines_.push_back({base::Clock::now() - started_, std::move(text)});
}

void Run::finish(Result r) {
  if (finished_) return;
  finished_ = true;
  if (deadline_timer_ != 0) {
    loop_.cancel(deadline_timer_);
    deadline_timer_ = 0;
  }
  r.duration = base::Clock::now() - started_;
  if (trace_) {
    lines_.insert(lines_.end(), r.trace.begin(), r.trace.end());
    r.trace = std::move(lines_);
  }
  if (r.success) r.reason = FailureReason::None;
  DoneFn done = std::move(done_);
  done(std::move(r));  // last: it may schedule this Run's destruction
}

void Run::abandon() {
  if (finished_) return;
  finished_ = true;
  if (deadline_timer_ != 0) {
    loop_.cancel(deadline_timer_);
    deadline_timer_ = 0;
  }
  probe_.cancel();
}

}  // namespace probed::probes
