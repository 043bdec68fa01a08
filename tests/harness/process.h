// Process: an RAII handle on a forked+exec'd child (nginx, openssl, curl, the daemon...).
// Owned and used by one thread at a time; the destructor stops the child and reports crashes.
#ifndef PROBED_TESTS_HARNESS_PROCESS_H_
#define PROBED_TESTS_HARNESS_PROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace probed::testing {

struct ProcessOptions {
  std::string stdout_path{};       // non-empty: stdout appended to this file, else inherited
  std::string stderr_path{};       // non-empty: stderr appended to this file, else inherited
  std::vector<std::string> env{};  // extra "K=V" entries, override the inherited environment
  std::string cwd{};               // non-empty: chdir() here before exec
};

class Process {
 public:
  // Forks and execvp()s argv[0] (PATH lookup). stdin is /dev/null, all other fds > 2 are closed
  // on exec, SIGPIPE and the signal mask are reset to defaults. Throws std::runtime_error if
  // the fork or the exec fails (exec errors are reported back through a CLOEXEC pipe).
  static Process spawn(std::vector<std::string> argv, ProcessOptions opts = {});

  // Runs argv to completion with stdout and stderr captured together. *exit_code (if non-null)
  // receives the exit code, 128+signal if killed, or -1 on timeout (the child is then killed).
  static std::string run_capture(std::vector<std::string> argv, int* exit_code,
                                 std::chrono::seconds timeout = std::chrono::seconds(60));

  Process() = default;  // empty handle, pid() == -1
  ~Process();
  Process(Process&& other) noexcept;
  Process& operator=(Process&& other) noexcept;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  const std::vector<std::string>& argv() const { return argv_; }

  // True while the child has not exited (reaps it if it has).
  bool running();

  // Waits up to `timeout` for the child to exit. Returns its exit code (128+signal if it was
  // killed by a signal) or -1 on timeout. Kills nothing.
  int wait_exit(std::chrono::milliseconds timeout);

  // Sends `sig` to the child (no-op once it has been reaped).
  void signal(int sig);

  // SIGTERM, waits up to 5 s, then SIGKILL. Returns the raw waitpid() status (or -1 if empty).
  int stop() noexcept;

  // True if the child died from a signal this handle did not send (SIGSEGV, SIGABRT, ...).
  bool crashed() const;

  // Raw waitpid() status once reaped; -1 before.
  int raw_status() const { return reaped_ ? status_ : -1; }

 private:
  Process(pid_t pid, std::vector<std::string> argv) : pid_(pid), argv_(std::move(argv)) {}
  bool reap(bool block) noexcept;  // true once the child has been reaped
  void release() noexcept;         // stop() + crash report; leaves the handle empty

  pid_t pid_ = -1;
  std::vector<std::string> argv_;
  bool reaped_ = false;
  int status_ = 0;
  unsigned long long sent_signals_ = 0;  // bit i set => we sent signal i
};

}  // namespace probed::testing

#endif  // PROBED_TESTS_HARNESS_PROCESS_H_
