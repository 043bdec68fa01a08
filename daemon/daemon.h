// Daemon: wires the loop, curl, c-ares, the scheduler, the sinks and the HTTP server; handles
// signals (TERM/INT stop, HUP reload), reloads, targets_file refreshes and sd_notify. Created
// and run on the main thread, which becomes the loop thread.
#pragma once

#include <string>

namespace probed::daemon {

struct RunOptions {
  std::string config_path;  // empty: /etc/probed/probed.toml if present, else the default
};

// Runs until SIGTERM/SIGINT; returns the process exit code.
int run_daemon(const RunOptions& opts);

// The config file `probed run` uses when -c is not given, or "" for the embedded default.
std::string default_config_path();

}  // namespace probed::daemon
