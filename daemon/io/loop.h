// Loop: the single-threaded event loop (epoll, a timer heap, deferred callbacks, an eventfd for
// cross-thread posts, a signalfd). It owns no probe state; it only dispatches. Every method but
// post() must be called on the loop thread.
//
// One iteration, in a fixed order with bounded work (after h2o): wait for I/O (timeout = the
// earliest timer, 0 when deferred work is pending), refresh now(), I/O callbacks, the deferred
// callbacks queued before this point, then expired timers (at most kMaxTimersPerIteration),
// then what those deferred or armed for now (a probe's first step, curl's 0 ms timer), up to
// kMaxDeferredRounds times: a run that starts from a timer costs no extra epoll_wait(0).
#pragma once

#include <sys/epoll.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <queue>
#include <unordered_map>
#include <vector>

#include "daemon/base/clock.h"
#include "daemon/base/expected.h"

namespace probed::io {

using base::Duration;
using base::TimePoint;

enum class Interest : uint32_t { Read = 1, Write = 2, ReadWrite = 3 };

// Bits passed to an IoFn.
inline constexpr uint32_t kReadable = 1;
inline constexpr uint32_t kWritable = 2;
inline constexpr uint32_t kError = 4;  // EPOLLERR or EPOLLHUP

using IoFn = std::function<void(uint32_t events)>;
using Fn = std::function<void()>;
using TimerId = uint64_t;

class Loop {
 public:
  static base::Expected<std::unique_ptr<Loop>> create();
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  // Adds fd or changes its interest. The callback stays until unwatch(fd).
  base::Expected<void> watch(int fd, Interest in, IoFn fn);
  // Changes the interest of a watched fd and keeps its callback (curl switches a socket from
  // write to read once per request).
  base::Expected<void> rewatch(int fd, Interest in);
  void unwatch(int fd);

  TimerId after(Duration d, Fn fn);  // one-shot
  TimerId at(TimePoint t, Fn fn);
  void cancel(TimerId id);           // unknown or fired ids are ignored

  void defer(Fn fn);  // next iteration; never runs inside the caller
  void post(Fn fn);   // any thread; wakes the loop

  // Routes a signal to fn on the loop (signalfd). The caller blocks the signal in every thread
  // first (block_signals() before starting threads).
  base::Expected<void> on_signal(int signo, Fn fn);
  static void block_signals(std::initializer_list<int> signals);

  TimePoint now() const { return now_; }  // cached once per iteration
  void update_now() { now_ = base::Clock::now(); }

  void run();   // until stop()
  void stop();  // loop thread; from others: post([&] { loop.stop(); })
  // Runs until pred() is true or the deadline passes; for the CLI and tests.
  bool run_until(const std::function<bool()>& pred, Duration limit);

  size_t watched_fds() const { return watches_.size(); }
  size_t pending_timers() const { return timers_.size(); }
  uint64_t iterations() const { return iterations_; }

  static constexpr size_t kMaxTimersPerIteration = 1000;
  static constexpr int kMaxDeferredRounds = 4;

 private:
  Loop() = default;
  void iterate();
  int next_timeout_ms();
  void drop_cancelled_top();
  bool timer_due();
  void run_io(const epoll_event& ev);
  void run_timers();
  void run_deferred();
  void drain_posts();
  void drain_signals();
  static void guarded(const char* what, const Fn& fn);

  struct Watch {
    uint32_t gen;
    Interest interest;
    std::shared_ptr<IoFn> fn;
  };
  struct HeapEntry {
    TimePoint when;
    TimerId id;
    bool operator>(const HeapEntry& o) const { return when > o.when || (when == o.when && id > o.id); }
  };

  int epfd_ = -1;
  int eventfd_ = -1;
  int signalfd_ = -1;
  bool running_ = false;
  TimePoint now_ = base::Clock::now();
  uint32_t next_gen_ = 1;
  TimerId next_timer_ = 1;
  uint64_t iterations_ = 0;
  std::unordered_map<int, Watch> watches_;
  std::priority_queue<HeapEntry, std::vector<HeapEntry>, std::greater<>> heap_;
  std::unordered_map<TimerId, Fn> timers_;
  std::vector<Fn> deferred_;
  std::mutex post_mu_;
  std::vector<Fn> posted_;
  std::unordered_map<int, Fn> signal_fns_;
};

}  // namespace probed::io
