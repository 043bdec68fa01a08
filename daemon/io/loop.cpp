#include "daemon/io/loop.h"

#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "daemon/base/log.h"

namespace probed::io {
namespace {

constexpr int kEventFdTag = -2;
constexpr int kSignalFdTag = -3;
constexpr int kMaxEvents = 256;

uint64_t pack(uint32_t gen, int fd) {
  return (static_cast<uint64_t>(gen) << 32) | static_cast<uint32_t>(fd);
}

uint32_t to_epoll(Interest in) {
  uint32_t ev = 0;
  if ((static_cast<uint32_t>(in) & 1u) != 0) ev |= EPOLLIN;
  if ((static_cast<uint32_t>(in) & 2u) != 0) ev |= EPOLLOUT;
  return ev;
}

std::string errno_text(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

}  // namespace

base::Expected<std::unique_ptr<Loop>> Loop::create() {
  std::unique_ptr<Loop> loop(new Loop());
  loop->epfd_ = epoll_create1(EPOLL_CLOEXEC);
  if (loop->epfd_ < 0) return base::unexpected(errno_text("epoll_create1"));
  loop->eventfd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (loop->eventfd_ < 0) return base::unexpected(errno_text("eventfd"));
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = pack(0, kEventFdTag);
  if (epoll_ctl(loop->epfd_, EPOLL_CTL_ADD, loop->eventfd_, &ev) != 0) {
    return base::unexpected(errno_text("epoll_ctl(eventfd)"));
  }
  return loop;
}

Loop::~Loop() {
  if (signalfd_ >= 0) close(signalfd_);
  if (eventfd_ >= 0) close(eventfd_);
  if (epfd_ >= 0) close(epfd_);
}

void Loop::block_signals(std::initializer_list<int> signals) {
  sigset_t set;
  sigemptyset(&set);
  for (int s : signals) sigaddset(&set, s);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

base::Expected<void> Loop::watch(int fd, Interest in, IoFn fn) {
  auto it = watches_.find(fd);
  if (it != watches_.end()) {
    auto ok = rewatch(fd, in);
    if (!ok) return ok;
    it->second.fn = std::make_shared<IoFn>(std::move(fn));
    return {};
  }
  epoll_event ev{};
  ev.events = to_epoll(in);
  uint32_t gen = next_gen_++;
  ev.data.u64 = pack(gen, fd);
  if (epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    return base::unexpected(errno_text("epoll_ctl(ADD)"));
  }
  watches_.emplace(fd, Watch{gen, in, std::make_shared<IoFn>(std::move(fn))});
  return {};
}

base::Expected<void> Loop::rewatch(int fd, Interest in) {
  auto it = watches_.find(fd);
  if (it == watches_.end()) return base::unexpected("rewatch of an unwatched fd");
  if (it->second.interest == in) return {};
  epoll_event ev{};
  ev.events = to_epoll(in);
  ev.data.u64 = pack(it->second.gen, fd);
  if (epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &ev) != 0) {
    return base::unexpected(errno_text("epoll_ctl(MOD)"));
  }
  it->second.interest = in;
  return {};
}

void Loop::unwatch(int fd) {
  auto it = watches_.find(fd);
  if (it == watches_.end()) return;
  // The fd may already be closed (curl closes after telling us); ENOENT/EBADF are fine.
  epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
  watches_.erase(it);
}

TimerId Loop::after(Duration d, Fn fn) { return at(now_ + std::max(d, Duration::zero()), std::move(fn)); }

TimerId Loop::at(TimePoint t, Fn fn) {
  TimerId id = next_timer_++;
  timers_.emplace(id, std::move(fn));
  heap_.push({t, id});
  return id;
}

void Loop::cancel(TimerId id) { timers_.erase(id); }

void Loop::defer(Fn fn) { deferred_.push_back(std::move(fn)); }

void Loop::post(Fn fn) {
  {
    std::lock_guard lock(post_mu_);
    posted_.push_back(std::move(fn));
  }
  uint64_t one = 1;
  ssize_t n = write(eventfd_, &one, sizeof one);
  (void)n;  // EAGAIN means the counter is already non-zero: the loop will wake anyway
}

base::Expected<void> Loop::on_signal(int signo, Fn fn) {
  signal_fns_[signo] = std::move(fn);
  sigset_t set;
  sigemptyset(&set);
  for (const auto& [s, f] : signal_fns_) sigaddset(&set, s);
  bool fresh = signalfd_ < 0;
  signalfd_ = signalfd(signalfd_, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (signalfd_ < 0) return base::unexpected(errno_text("signalfd"));
  if (fresh) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = pack(0, kSignalFdTag);
    if (epoll_ctl(epfd_, EPOLL_CTL_ADD, signalfd_, &ev) != 0) {
      return base::unexpected(errno_text("epoll_ctl(signalfd)"));
    }
  }
  return {};
}

void Loop::guarded(const char* what, const Fn& fn) {
  // Last line of defence (DESIGN §5): an exception must not end the loop.
  try {
    fn();
  } catch (const std::exception& e) {
    base::log_error("bug: exception in callback", {{"where", what}, {"error", e.what()}});
  } catch (...) {
    base::log_error("bug: exception in callback", {{"where", what}, {"error", "unknown"}});
  }
}

void Loop::drop_cancelled_top() {
  while (!heap_.empty() && timers_.count(heap_.top().id) == 0) heap_.pop();
}

bool Loop::timer_due() {
  drop_cancelled_top();
  return !heap_.empty() && heap_.top().when <= now_;
}

int Loop::next_timeout_ms() {
  if (!deferred_.empty()) return 0;
  // A cancelled timer stays in the heap until it reaches the top: never wake up for one
  // (curl re-arms its timer on every call, and every run cancels its deadline).
  drop_cancelled_top();
  if (heap_.empty()) return 1000;  // wake now and then even when idle
  auto wait = heap_.top().when - base::Clock::now();
  if (wait <= Duration::zero()) return 0;
  // Round up so a timer never fires early and never spins at 0 ms (Envoy's 1 ms floor).
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(wait + std::chrono::microseconds(999));
  return static_cast<int>(std::min<int64_t>(ms.count(), 1000));
}

void Loop::run_io(const epoll_event& ev) {
  int fd = static_cast<int>(static_cast<uint32_t>(ev.data.u64));
  uint32_t gen = static_cast<uint32_t>(ev.data.u64 >> 32);
  if (fd == kEventFdTag) return drain_posts();
  if (fd == kSignalFdTag) return drain_signals();
  auto it = watches_.find(fd);
  // Unwatched, or a new fd with the same number, earlier in this batch.
  if (it == watches_.end() || it->second.gen != gen) return;
  uint32_t bits = 0;
  if ((ev.events & EPOLLIN) != 0) bits |= kReadable;
  if ((ev.events & EPOLLOUT) != 0) bits |= kWritable;
  if ((ev.events & (EPOLLERR | EPOLLHUP)) != 0) bits |= kError;
  auto fn = it->second.fn;  // keep alive even if the callback unwatches
  guarded("io", [&] { (*fn)(bits); });
}

void Loop::run_deferred() {
  std::vector<Fn> batch;
  batch.swap(deferred_);
  for (auto& fn : batch) guarded("defer", fn);
}

void Loop::run_timers() {
  size_t fired = 0;
  while (!heap_.empty() && fired < kMaxTimersPerIteration) {
    HeapEntry top = heap_.top();
    if (top.when > now_) break;
    heap_.pop();
    auto it = timers_.find(top.id);
    if (it == timers_.end()) continue;  // cancelled
    Fn fn = std::move(it->second);
    timers_.erase(it);
    ++fired;
    guarded("timer", fn);
  }
}

void Loop::drain_posts() {
  uint64_t count;
  ssize_t n = read(eventfd_, &count, sizeof count);
  (void)n;
  std::vector<Fn> batch;
  {
    std::lock_guard lock(post_mu_);
    batch.swap(posted_);
  }
  for (auto& fn : batch) guarded("post", fn);
}

void Loop::drain_signals() {
  signalfd_siginfo info{};
  while (read(signalfd_, &info, sizeof info) == sizeof info) {
    auto it = signal_fns_.find(static_cast<int>(info.ssi_signo));
    if (it != signal_fns_.end()) guarded("signal", it->second);
  }
}

void Loop::iterate() {
  epoll_event events[kMaxEvents];
  int n = epoll_wait(epfd_, events, kMaxEvents, next_timeout_ms());
  update_now();
  ++iterations_;
  if (n < 0 && errno != EINTR) {
    base::log_error("epoll_wait failed", {{"error", std::strerror(errno)}});
  }
  for (int i = 0; i < n; ++i) run_io(events[i]);
  run_deferred();
  update_now();
  run_timers();
  // What the timers deferred or armed for "now" (a probe's first step, curl's 0 ms timer)
  // runs in this iteration rather than after an epoll_wait(0). Bounded, so callbacks that
  // keep re-arming themselves cannot starve I/O.
  for (int round = 0; round < kMaxDeferredRounds && (!deferred_.empty() || timer_due()); ++round) {
    run_deferred();
    run_timers();
  }
}

void Loop::run() {
  running_ = true;
  while (running_) iterate();
}

void Loop::stop() { running_ = false; }

bool Loop::run_until(const std::function<bool()>& pred, Duration limit) {
  TimePoint end = base::Clock::now() + limit;
  // A timer at the limit: an idle loop would otherwise sleep its whole idle wait (1 s) past it.
  TimerId wake = at(end, [] {});
  running_ = true;
  while (running_ && !pred()) {
    if (base::Clock::now() >= end) break;
    iterate();
  }
  cancel(wake);
  return pred();
}

}  // namespace probed::io
