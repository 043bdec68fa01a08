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
#include "probes/probe.h"
#include "probes/tls_inspect.h"

namespace probed::cli {
namespace {

struct Row {
  std::string check, target, subject, issuer, status, message;
  int64_t not_after = 0;
  double days_left = 0;
  bool has_cert = false;
};

struct Pending {
  const config::CheckConfig* check;
  config::Target target;
  config::ProbeSpec::CertThresholds thresholds;
  std::unique_ptr<probes::Probe> probe;
  std::unique_ptr<probes::Run> run;
  std::optional<probes::Result> result;
};

void rows_of(const Pending& p, double now, std::vector<Row>& out) {
  const auto& r = *p.result;
  if (r.chain.empty()) {
    out.push_back({p.check->name, p.target.address, "-", "-", "ERROR",
                   r.message.empty() ? "no certificate seen" : r.message});
    return;
  }
  for (const auto& c : r.chain) {
    Row row{p.check->name, p.target.address, c.subject, c.issuer, "", "", c.not_after,
            probes::days_left(c, now), true};
    row.status = std::string(probes::to_string(
        probes::cert_status(c, now, p.thresholds.warning, p.thresholds.critical)));
    if (!c.source.empty() && c.source != p.target.address) row.target = c.source;
    out.push_back(std::move(row));
  }
}

void print_table(const std::vector<Row>& rows) {
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

void print_json(const std::vector<Row>& rows) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : rows) {
    nlohmann::json j = {{"check", r.check}, {"target", r.target}, {"status", r.status}};
    if (r.has_cert) {
      j["subject"] = r.subject;
      j["issuer"] = r.issuer;
      j["not_after"] = probes::format_date(r.not_after);
      j["not_after_unix"] = r.not_after;
      j["days_left"] = std::round(r.days_left * 10) / 10;
    } else {
      j["error"] = r.message;
    }
    out.push_back(std::move(j));
  }
  std::cout << out.dump(2) << "\n";
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
  std::vector<Row> rows;
  double now = base::unix_now();
  for (const auto& p : runs) {
    if (p->result) rows_of(*p, now, rows);
  }
  // ERROR rows first, then by days left (soonest first).
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    if (a.has_cert != b.has_cert) return !a.has_cert;
    return a.days_left < b.days_left;
  });
  if (format == "json") print_json(rows);
  else print_table(rows);
  bool all_ok = std::all_of(rows.begin(), rows.end(), [](const Row& r) { return r.status == "OK"; });
  return all_ok ? 0 : 1;
}

}  // namespace probed::cli
