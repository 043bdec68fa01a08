// The subcommands of `probed` (SPEC §1). Each returns the process exit code. Main thread.
#pragma once

#include <string>
#include <vector>

namespace probed::cli {

int check_config(const std::string& path);

struct ProbeOptions {
  std::string config_path;          // with a check name
  std::string check;
  std::string type;                 // ad-hoc: --type http TARGET
  std::string target;
  std::vector<std::string> sets;    // --set key=value
};
int probe_once(const ProbeOptions& opts);

int version();

// `probed certs`: format "table" or "json"; exit 0 when every certificate is OK.
int certs(const std::string& config_path, const std::string& format);

}  // namespace probed::cli
