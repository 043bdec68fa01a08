#include <curl/curl.h>

#include <iostream>
#include <set>

#include "config/loader.h"
#include "daemon/base/log.h"
#include "daemon/cli/commands.h"
#include "daemon/io/ares_channel.h"
#include "daemon/io/curl_multi.h"
#include "daemon/io/loop.h"
#include "daemon/one_shot.h"
#include "daemon/trace_text.h"
#include "probes/probe.h"

namespace probed::cli {
namespace {

// Keys of a [[checks]] entry itself; every other --set key goes to [checks.<type>].
const std::set<std::string> kCheckKeys = {"interval", "timeout", "labels", "runbook_url"};

std::string toml_quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// --set key=value: the value as TOML when it parses (200, true, ["2xx"], { a = "b" }),
// otherwise as a string (method=POST, max_duration=800ms).
std::string toml_value(const std::string& v) {
  try {
    auto t = toml::parse("x = " + v);
    (void)t;
    return v;
  } catch (const toml::parse_error&) {
    return toml_quote(v);
  }
}

base::Expected<std::string> adhoc_config(const ProbeOptions& o) {
  std::string check = "[[checks]]\nname = \"adhoc\"\ntype = " + toml_quote(o.type) +
                      "\ntargets = [" + toml_quote(o.target) + "]\n";
  std::string type_table = "[checks." + o.type + "]\n";
  for (const auto& s : o.sets) {
    auto eq = s.find('=');
    if (eq == std::string::npos || eq == 0) {
      return base::unexpected("--set takes key=value, not \"" + s + "\"");
    }
    std::string key = s.substr(0, eq);
    std::string line = key + " = " + toml_value(s.substr(eq + 1)) + "\n";
    (kCheckKeys.count(key) != 0 ? check : type_table) += line;
  }
  return check + type_table;
}

}  // namespace

int probe_once(const ProbeOptions& o) {
  config::LoadResult res;
  if (!o.type.empty()) {
    auto text = adhoc_config(o);
    if (!text) {
      std::cerr << "probed probe: " << text.error() << "\n";
      return 2;
    }
    res = config::load_config_text(*text, "<command line>", ".", probes::config_probe_types());
  } else {
    res = config::load_config(o.config_path, probes::config_probe_types());
  }
  if (!res.ok()) {
    res.diags.print(std::cerr);
    return 2;
  }
  const std::string name = o.type.empty() ? o.check : "adhoc";
  const config::CheckConfig* check = res.config->find_check(name);
  if (check == nullptr) {
    std::cerr << "probed probe: no check named '" << name << "' in " << o.config_path << "\n";
    return 2;
  }
  if (check->targets.empty()) {
    std::cerr << "probed probe: check '" << name << "' has no targets\n";
    return 2;
  }
  auto loop = io::Loop::create();
  if (!loop) {
    std::cerr << "probed probe: " << loop.error() << "\n";
    return 2;
  }
  auto curl = io::CurlMulti::create(**loop);
  if (!curl) {
    std::cerr << "probed probe: " << curl.error() << "\n";
    return 2;
  }
  io::AresPool ares(**loop);
  io::Worker worker;
  probes::Services services{**loop, **curl, ares, &worker};
  daemon::OneShotRunner runner(services);
  bool all_ok = true;
  for (const auto& target : check->targets) {
    std::optional<probes::Result> result;
    runner.start(res.config, *check, target, check->timeout, /*trace=*/true,
                 [&](probes::Result r) { result = std::move(r); });
    (*loop)->run_until([&] { return result.has_value(); }, check->timeout + std::chrono::seconds(5));
    if (!result) {
      runner.stop();
      std::cerr << "probed probe: run did not finish (bug)\n";
      return 2;
    }
    std::cout << daemon::trace_text(*check, target, *result);
    all_ok = all_ok && result->success;
    (*loop)->run_until([] { return false; }, std::chrono::milliseconds(0));  // deferred cleanup
  }
  return all_ok ? 0 : 1;
}

}  // namespace probed::cli
