// Shared by the operations e2e tests (status page, /probe, fleet): a probed daemon on a free
// loopback port with a config written by the test, and curl/shell helpers.
#pragma once

#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <functional>
#include <string>
#include <thread>

#include "tests/e2e/e2e.h"
#include "tests/harness/ports.h"
#include "tests/harness/process.h"

namespace probed::testing {

inline std::string shell(const std::string& cmd, int* code = nullptr) {
  int rc = 0;
  auto out = Process::run_capture({"/bin/sh", "-c", cmd}, &rc, std::chrono::seconds(90));
  if (code != nullptr) *code = rc;
  return out;
}

// Polls fn until it returns true or `limit` passes.
inline bool eventually(const std::function<bool()>& fn, std::chrono::milliseconds limit = std::chrono::seconds(15)) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (fn()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return false;
}

struct OpsDaemon {
  TempDir dir{"probed-ops-e2e"};
  int port = free_port();
  std::string listen = "127.0.0.1:" + std::to_string(port);
  std::string base = "http://" + listen;
  Process proc;

  // `daemon_extra` goes into [daemon]; `rest` after it (sections and checks). state_dir is
  // the test's own directory unless daemon_extra sets it: the default, /var/lib/probed,
  // would carry alert state from one test (or run) into the next.
  void write_config(const std::string& daemon_extra, const std::string& rest) {
    const bool own_state = daemon_extra.find("state_dir") != std::string::npos;
    std::ofstream(dir.file("probed.toml")) << "[daemon]\nlisten = \"" << listen << "\"\n"
                                           << (own_state ? "" : "state_dir = \"" + dir.path() + "\"\n")
                                           << daemon_extra
                                           << "[defaults]\ninterval = \"1s\"\ntimeout = \"800ms\"\n" << rest;
  }
  void start() {
    ProcessOptions po;
    po.stderr_path = dir.file("probed.log");
    proc = Process::spawn({probed_bin(), "run", "-c", dir.file("probed.toml")}, po);
    REQUIRE(wait_for_tcp("127.0.0.1", port, std::chrono::seconds(10)));
    // Listening comes before the handlers are registered and the config applied: wait for
    // /-/ready, or an early request may see civetweb's own 404.
    REQUIRE(eventually([&] { return get("/-/ready", "-o /dev/null -w '%{http_code}'") == "200"; }));
  }
  std::string get(const std::string& path, const std::string& curl_args = "") const {
    return shell("curl -s " + curl_args + " '" + base + path + "'");
  }
  std::string log() const { return read_file(dir.file("probed.log")); }
};

// Where tests leave artefacts worth looking at (screenshots): <build>/test-output.
inline std::string test_output_dir() {
  std::string dir = PROBED_TEST_OUTPUT_DIR;
  shell("mkdir -p '" + dir + "'");
  return dir;
}

}  // namespace probed::testing
