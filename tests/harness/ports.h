// Loopback networking and scratch-directory helpers for tests: free ports, temp dirs, TCP waits.
// All functions are stateless and safe to call from any thread; TempDir is owned by one thread.
#ifndef PROBED_TESTS_HARNESS_PORTS_H_
#define PROBED_TESTS_HARNESS_PORTS_H_

#include <chrono>
#include <string>
#include <string_view>

namespace probed::testing {

// Binds TCP 127.0.0.1:0, reads the kernel-chosen port back, closes the socket and returns it.
// Never returns the same port twice in one process. Throws std::runtime_error on socket errors.
int free_port();

// Creates a fresh directory /tmp/<prefix>XXXXXX (mkdtemp) and returns its path.
std::string make_temp_dir(std::string_view prefix);

// Recursively removes `path`; never throws, ignores errors.
void remove_tree(const std::string& path) noexcept;

// Polls connect() to host:port (numeric address or "localhost") until it succeeds or `timeout`
// passes. Returns true once a connection was established (and immediately closed).
bool wait_for_tcp(const std::string& host, int port, std::chrono::milliseconds timeout);

// Reads a whole file into a string; returns "" if it cannot be opened.
std::string read_file(const std::string& path);

// Writes `content` to `path` (truncating); throws std::runtime_error on failure.
void write_file(const std::string& path, std::string_view content);

// RAII temp directory: created by make_temp_dir, removed by the destructor unless the environment
// variable PROBED_KEEP_TEST_DIRS is set (then its path is printed to stderr). Move-only.
class TempDir {
 public:
  explicit TempDir(std::string_view prefix) : path_(make_temp_dir(prefix)) {}
  ~TempDir();
  TempDir(TempDir&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }
  TempDir& operator=(TempDir&& other) noexcept;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // Returns path() + "/" + name.
  std::string file(std::string_view name) const;

 private:
  void cleanup() noexcept;
  std::string path_;
};

}  // namespace probed::testing

#endif  // PROBED_TESTS_HARNESS_PORTS_H_
