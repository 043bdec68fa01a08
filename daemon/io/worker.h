// Worker: one background thread for blocking file I/O (config reloads, targets_file reads,
// later certificate files and the spool), so the loop never blocks on a disk. Jobs run in
// order; they hand results back with Loop::post. Thread-safe: submit() from any thread.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace probed::io {

class Worker {
 public:
  Worker();
  ~Worker();  // finishes the job in progress, drops the rest
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;
  void submit(std::function<void()> job);

 private:
  void main();
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace probed::io
