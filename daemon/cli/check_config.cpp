#include <iostream>

#include "config/loader.h"
#include "daemon/cli/commands.h"
#include "probes/probe.h"

namespace probed::cli {

int check_config(const std::string& path) {
  auto res = config::load_config(path, probes::config_probe_types());
  if (!res.ok()) {
    res.diags.print(std::cout);
    std::cout << path << ": " << res.diags.size() << (res.diags.size() == 1 ? " error" : " errors")
              << "\n";
    return 1;
  }
  size_t targets = 0;
  for (const auto& c : res.config->checks) targets += c.targets.size();
  std::cout << path << ": OK (" << res.config->checks.size() << " checks, " << targets
            << " targets)\n";
  return 0;
}

}  // namespace probed::cli
