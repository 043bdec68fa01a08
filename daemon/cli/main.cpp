// probed's command line (SPEC §1), parsed with CLI11.
#include <curl/curl.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "daemon/base/log.h"
#include "daemon/cli/commands.h"
#include "daemon/daemon.h"

int main(int argc, char** argv) {
  // Before any thread: curl's global state is not thread-safe to set up.
  curl_global_init(CURL_GLOBAL_DEFAULT);
  CLI::App app{"probed: synthetic-monitoring probe daemon"};
  app.require_subcommand(0, 1);
  std::string log_level = "info", log_format = "logfmt";
  app.add_option("--log-level", log_level, "debug|info|warn|error")->capture_default_str();
  app.add_option("--log-format", log_format, "logfmt|json")->capture_default_str();

  std::string run_config;
  auto* run = app.add_subcommand("run", "run the daemon (the default)");
  run->add_option("-c,--config", run_config, "config file");
  app.add_option("-c,--config", run_config, "config file (for plain `probed`)");

  std::string check_path;
  auto* check = app.add_subcommand("check-config", "validate a config file");
  check->add_option("-c,--config", check_path, "config file")->required();

  probed::cli::ProbeOptions po;
  auto* probe = app.add_subcommand("probe", "run one check once and print a trace");
  probe->add_option("-c,--config", po.config_path, "config file");
  probe->add_option("--type", po.type, "ad-hoc check type: http|dns|tcp|tls");
  probe->add_option("--set", po.sets, "key=value for the ad-hoc check (repeatable)");
  std::string positional;
  probe->add_option("CHECK_OR_TARGET", positional, "check name (-c) or target (--type)")->required();

  auto* ver = app.add_subcommand("version", "print versions");

  std::string certs_config, certs_format = "table";
  auto* certs = app.add_subcommand("certs", "run every certificate-bearing check once; list certificates by expiry");
  certs->add_option("-c,--config", certs_config, "config file");
  certs->add_option("--format", certs_format, "table|json")->check(CLI::IsMember({"table", "json"}));

  CLI11_PARSE(app, argc, argv);
  probed::base::LogLevel level;
  probed::base::LogFormat format;
  if (!probed::base::parse_log_level(log_level, level)) {
    std::cerr << "--log-level must be debug, info, warn or error\n";
    return 2;
  }
  if (!probed::base::parse_log_format(log_format, format)) {
    std::cerr << "--log-format must be logfmt or json\n";
    return 2;
  }
  probed::base::set_log_level(level);
  probed::base::set_log_format(format);

  if (*check) return probed::cli::check_config(check_path);
  if (*ver) return probed::cli::version();
  if (*certs) return probed::cli::certs(certs_config, certs_format);
  if (*probe) {
    if (po.type.empty() == po.config_path.empty()) {
      std::cerr << "probed probe: use either -c FILE CHECK or --type TYPE TARGET\n";
      return 2;
    }
    (po.type.empty() ? po.check : po.target) = positional;
    return probed::cli::probe_once(po);
  }
  return probed::daemon::run_daemon({run_config});
}
