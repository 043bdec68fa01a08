#include "tests/harness/process.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace probed::testing {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

struct Fds {  // closes what it holds
  int fd[2] = {-1, -1};
  ~Fds() {
    for (int f : fd) {
      if (f >= 0) ::close(f);
    }
  }
};

int open_output(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno));
  return fd;
}

// Environment for the child: the current one with `extra` K=V entries overriding.
std::vector<std::string> merged_env(const std::vector<std::string>& extra) {
  std::vector<std::string> out;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string entry(*e);
    std::string key = entry.substr(0, entry.find('='));
    bool overridden = false;
    for (const auto& x : extra) {
      if (x.substr(0, x.find('=')) == key) overridden = true;
    }
    if (!overridden) out.push_back(std::move(entry));
  }
  out.insert(out.end(), extra.begin(), extra.end());
  return out;
}

std::vector<char*> c_array(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

[[noreturn]] void child_fail(int err_fd, int err) {
  ssize_t ignored = ::write(err_fd, &err, sizeof(err));
  (void)ignored;
  ::_exit(127);
}

// Forks and execs; stdout_fd/stderr_fd (-1 = inherit) are dup'ed onto 1/2 in the child.
pid_t fork_exec(std::vector<std::string> argv, const ProcessOptions& opts, int stdout_fd,
                int stderr_fd) {
  if (argv.empty()) throw std::runtime_error("Process::spawn: empty argv");
  std::vector<std::string> env = merged_env(opts.env);
  std::vector<char*> c_argv = c_array(argv);
  std::vector<char*> c_env = c_array(env);
  int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  Fds err_pipe;
  if (::pipe2(err_pipe.fd, O_CLOEXEC) != 0) {
    if (devnull >= 0) ::close(devnull);
    throw std::runtime_error(std::string("pipe2: ") + std::strerror(errno));
  }
  const char* cwd = opts.cwd.empty() ? nullptr : opts.cwd.c_str();
  pid_t pid = ::fork();
  if (pid == 0) {
    // Child: async-signal-safe calls only.
    const int err_fd = err_pipe.fd[1];
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    if (devnull >= 0) ::dup2(devnull, 0);
    if (stdout_fd >= 0 && ::dup2(stdout_fd, 1) < 0) child_fail(err_fd, errno);
    if (stderr_fd >= 0 && ::dup2(stderr_fd, 2) < 0) child_fail(err_fd, errno);
    if (cwd != nullptr && ::chdir(cwd) != 0) child_fail(err_fd, errno);
    // Stray fds (listening sockets of other tests...) must not leak into the child. err_fd is
    // already CLOEXEC, so marking everything above 2 is fine.
    if (::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
      for (int fd = 3; fd < 4096; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    ::execvpe(c_argv[0], c_argv.data(), c_env.data());
    child_fail(err_fd, errno);
  }
  int fork_errno = errno;
  if (devnull >= 0) ::close(devnull);
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(fork_errno));
  ::close(err_pipe.fd[1]);
  err_pipe.fd[1] = -1;
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(err_pipe.fd[0], &child_errno, sizeof(child_errno));
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof(child_errno))) {
    int status;
    ::waitpid(pid, &status, 0);
    throw std::runtime_error("cannot exec " + argv[0] + ": " + std::strerror(child_errno));
  }
  return pid;
}

int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

Process Process::spawn(std::vector<std::string> argv, ProcessOptions opts) {
  Fds out;
  if (!opts.stdout_path.empty()) out.fd[0] = open_output(opts.stdout_path);
  if (!opts.stderr_path.empty()) {
    out.fd[1] =
        opts.stderr_path == opts.stdout_path ? ::dup(out.fd[0]) : open_output(opts.stderr_path);
  }
  pid_t pid = fork_exec(argv, opts, out.fd[0], out.fd[1]);
  return Process(pid, std::move(argv));
}

std::string Process::run_capture(std::vector<std::string> argv, int* exit_code,
                                 std::chrono::seconds timeout) {
  Fds pipe_fds;
  if (::pipe2(pipe_fds.fd, O_CLOEXEC) != 0) {
    throw std::runtime_error(std::string("pipe2: ") + std::strerror(errno));
  }
  pid_t pid = fork_exec(argv, ProcessOptions{}, pipe_fds.fd[1], pipe_fds.fd[1]);
  Process proc(pid, std::move(argv));
  ::close(pipe_fds.fd[1]);
  pipe_fds.fd[1] = -1;

  std::string output;
  const auto deadline = Clock::now() + timeout;
  bool timed_out = false;
  char buf[16384];
  for (;;) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd pfd{pipe_fds.fd[0], POLLIN, 0};
    int r = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;  // the deadline check above ends the loop
    ssize_t n = ::read(pipe_fds.fd[0], buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF: every writer (the child and its children) is gone
    output.append(buf, static_cast<size_t>(n));
  }
  int code = -1;
  if (timed_out) {
    proc.stop();
  } else {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    code = proc.wait_exit(std::max(left, milliseconds(1000)));
    if (code == -1) proc.stop();
  }
  if (exit_code != nullptr) *exit_code = code;
  return output;
}

Process::~Process() { release(); }

Process::Process(Process&& other) noexcept
    : pid_(other.pid_),
      argv_(std::move(other.argv_)),
      reaped_(other.reaped_),
      status_(other.status_),
      sent_signals_(other.sent_signals_) {
  other.pid_ = -1;
}

Process& Process::operator=(Process&& other) noexcept {
  if (this != &other) {
    release();
    pid_ = other.pid_;
    argv_ = std::move(other.argv_);
    reaped_ = other.reaped_;
    status_ = other.status_;
    sent_signals_ = other.sent_signals_;
    other.pid_ = -1;
  }
  return *this;
}

bool Process::reap(bool block) noexcept {
  if (pid_ <= 0) return true;
  if (reaped_) return true;
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == pid_) {
    reaped_ = true;
    status_ = status;
  } else if (r < 0) {  // ECHILD: someone else reaped it; treat as gone
    reaped_ = true;
    status_ = 0;
  }
  return reaped_;
}

bool Process::running() { return !reap(false); }

int Process::wait_exit(milliseconds timeout) {
  if (pid_ <= 0) return -1;
  const auto deadline = Clock::now() + timeout;
  while (!reap(false)) {
    if (Clock::now() >= deadline) return -1;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return exit_code_of(status_);
}

void Process::signal(int sig) {
  if (pid_ <= 0 || reap(false)) return;
  if (sig > 0 && sig < 64) sent_signals_ |= 1ULL << sig;
  ::kill(pid_, sig);
}

int Process::stop() noexcept {
  if (pid_ <= 0) return -1;
  if (!reap(false)) {
    signal(SIGTERM);
    const auto deadline = Clock::now() + std::chrono::seconds(5);
    while (!reap(false) && Clock::now() < deadline) {
      std::this_thread::sleep_for(milliseconds(5));
    }
    if (!reaped_) {
      signal(SIGKILL);
      reap(true);
    }
  }
  return status_;
}

bool Process::crashed() const {
  if (pid_ <= 0 || !reaped_ || !WIFSIGNALED(status_)) return false;
  int sig = WTERMSIG(status_);
  return sig <= 0 || sig >= 64 || (sent_signals_ & (1ULL << sig)) == 0;
}

void Process::release() noexcept {
  if (pid_ <= 0) return;
  stop();
  if (crashed()) {
    int sig = WTERMSIG(status_);
    std::fprintf(stderr,
                 "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
                 "!!! [harness] CHILD PROCESS CRASHED: %s (pid %d) killed by signal %d (%s)%s\n"
                 "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\n",
                 argv_.empty() ? "?" : argv_[0].c_str(), static_cast<int>(pid_), sig,
                 strsignal(sig), WCOREDUMP(status_) ? ", core dumped" : "");
    std::fflush(stderr);
  }
  pid_ = -1;
}

}  // namespace probed::testing
