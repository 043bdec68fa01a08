// `probed certs`: runs every check that sees certificates once, concurrently on one loop,
// and prints one row per certificate sorted by days left (SPEC §1). A target that should
// have shown certificates but failed before any was seen is an ERROR row.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>

#include "config/loader.h"
#include "daemon/base/redact.h"
#include "daemon/cli/commands.h"
#include "daemon/daemon.h"
#include "daemon/io/ares_channel.h"
#include "daemon/io/curl_multi.h"
#include "daemon/io/loop.h"
#include "daemon/io/worker.h"
#include "exporters/status/cert_table.h"
#include "probes/probe.h"
#include "probes/tls_inspect.h"

namespace probed::cli {
namespace {

using exporters::CertRow;

struct Pending {
  const config::CheckConfig* check;
  config::Target target;
  config::ProbeSpec::CertThresholds thresholds;
  std::unique_ptr<probes::Probe> probe;
  std::unique_ptr<probes::Run> run;
  std::optional<probes::Result> result;
};

void print_table(const std::vector<CertRow>& rows) {
  std::printf("%-9s %8s  %-20s  %-20s  %-36s  %-40s  %s\n", "STATUS", "DAYS", "NOT AFTER", "CHECK",
              "TARGET", "SUBJECT", "ISSUER");
  for (const auto& r : rows) {
    char days[32] = "-";
    if (r.has_cert) std::snprintf(days, sizeof days, "%.1f", r.days_left);
    std::string when = r.has_cert ? probes::format_date(r.not_after) : "-";
    std::printf("%-9s %8s  %-20s  %-20s  %-36s  %-40s  %s\n", r.status.c_str(), days,
                when.c_str(), r.check.c_str(), r.target.c_str(),
                r.has_cert ? r.subject.c_str() : r.message.c_str(),
                r.has_cert ? r.issuer.c_str() : "");
  }
}

}  // namespace

int certs(const std::string& path_arg, const std::string& format) {
  std::string path = path_arg.empty() ? daemon::default_config_path() : path_arg;
  auto res = path.empty() ? config::load_config_text(config::default_config_text(),
                                                     config::kDefaultConfigLabel, "/",
                                                     probes::config_probe_types())
                          : config::load_config(path, probes::config_probe_types());
  if (!res.ok()) {
    res.diags.print(std::cerr);
    return 2;
  }
  auto loop = io::Loop::create();
  auto curl = loop ? io::CurlMulti::create(**loop) : base::unexpected(loop.error());
  if (!loop || !curl) {
    std::cerr << "probed certs: " << (loop ? curl.error() : loop.error()) << "\n";
    return 2;
  }
  io::AresPool ares(**loop);
  io::Worker worker;
  probes::Services services{**loop, **curl, ares, &worker};
  std::vector<std::unique_ptr<Pending>> runs;
  base::Duration longest{};
  for (const auto& check : res.config->checks) {
    const auto* type = probes::find_probe_type(check.type);
    if (type == nullptr || type->make == nullptr || !type->sees_certificates) continue;
    for (const auto& target : check.targets) {
      auto t = check.spec->cert_thresholds(target.address);
      if (!t) continue;
      auto p = std::make_unique<Pending>(Pending{&check, target, *t, nullptr, nullptr, std::nullopt});
      p->probe = type->make(check, target, services);
      Pending* raw = p.get();
      p->run = probes::Run::start(*p->probe, **loop, check.timeout, false,
                                  [raw](probes::Result r) { raw->result = std::move(r); });
      longest = std::max(longest, check.timeout);
      runs.push_back(std::move(p));
    }
  }
  (*loop)->run_until(
      [&] { return std::all_of(runs.begin(), runs.end(), [](const auto& p) { return p->result.has_value(); }); },
      longest + std::chrono::seconds(5));
  std::vector<CertRow> rows;
  double now = base::unix_now();
  for (const auto& p : runs) {
    if (p->result) {
      exporters::append_cert_rows(p->check->name, p->target.address, p->result->chain,
                                  p->result->message, p->thresholds, now, rows);
    }
  }
  exporters::sort_cert_rows(rows);
  if (format == "json") std::cout << exporters::cert_rows_json(rows).dump(2) << "\n";
  else print_table(rows);
  bool all_ok = std::all_of(rows.begin(), rows.end(), [](const CertRow& r) { return r.status == "OK"; });
  return all_ok ? 0 : 1;
}

}  // namespace probed::cli
