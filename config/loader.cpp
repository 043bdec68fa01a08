#include "config/loader.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "config/alerting_reader.h"
#include "config/duration.h"
#include "config/labels.h"
#include "config/reader.h"
#include "config/secrets.h"
#include "config/targets_file.h"

namespace probed::config {
namespace {

bool later(const Position& a, const Position& b) {
  return std::tie(a.line, a.col) > std::tie(b.line, b.col);
}

class Loader {
 public:
  Loader(const ProbeTypes& types, Diagnostics& diags, std::string base_dir)
      : types_(types), diags_(diags), base_dir_(std::move(base_dir)) {}

  std::shared_ptr<Config> load(const toml::table& root, const std::string& path) {
    auto cfg = std::make_shared<Config>();
    cfg->path = path;
    TableReader top({&root}, "the top level", diags_, base_dir_);
    top.set_fallback_pos({path, 1, 1});
    if (auto d = top.table("daemon")) read_daemon(*d, cfg->daemon);
    cfg->receivers = read_receivers(top);
    for (const auto& rc : cfg->receivers) receiver_names_.insert(rc.name);
    if (auto p = top.table("probe_endpoint")) read_probe_endpoint(*p, cfg->probe_endpoint);
    const toml::table* defaults = nullptr;
    if (const auto* n = top.node("defaults")) {
      defaults = n->as_table();
      if (defaults == nullptr) top.error_at("defaults", "'defaults' must be a table");
    }
    if (defaults != nullptr) validate_defaults(*defaults);
    std::set<std::string, std::less<>> names;
    for (auto& check_reader : top.table_array("checks")) {
      TableReader r({check_reader_table(check_reader), defaults}, "[[checks]]", diags_, base_dir_);
      r.set_fallback_pos(check_reader.table_pos());  // not inherit(): each check keeps its own expansion digest
      auto c = read_check(r, defaults);
      if (!c) continue;
      if (!names.insert(c->name).second) {
        r.error_at("name", "duplicate check name '" + c->name + "'");
        continue;
      }
      cfg->checks.push_back(std::move(*c));
    }
    cfg->alerting = read_alerting(top, cfg->checks);
    top.finish();
    return cfg;
  }

 private:
  // The table behind a reader made by table_array (its only layer).
  static const toml::table* check_reader_table(TableReader& r) { return r.raw_top(); }

  void read_daemon(TableReader& r, DaemonConfig& d) {
    if (auto v = r.string("listen")) {
      if (valid_listen(*v)) {
        d.listen = *v;
      } else {
        r.error_at("listen", "'listen' must be HOST:PORT such as \"127.0.0.1:9465\" or "
                             "\"[::1]:9465\", not \"" + *v + "\"");
      }
    }
    if (auto v = r.string("location")) d.location = *v;
    if (auto v = r.string("state_dir")) d.state_dir = resolve_path(*v, base_dir_);
    if (auto v = r.integer("max_inflight", 1, 1'000'000)) d.max_inflight = *v;
    if (auto v = r.string("shard")) {
      unsigned i = 0, n = 0;
      char tail = 0;
      if (std::sscanf(v->c_str(), "%u/%u%c", &i, &n, &tail) == 2 && n >= 1 && i < n) {
        d.shard_index = i;
        d.shard_count = n;
      } else {
        r.error_at("shard", "'shard' must be \"i/n\" with 0 <= i < n, such as \"0/3\", not \"" +
                                *v + "\"");
      }
    }
    if (auto v = r.duration("targets_file_reload")) {
      if (*v < std::chrono::seconds(1)) {
        r.error_at("targets_file_reload", "'targets_file_reload' must be at least 1s");
      } else {
        d.targets_file_reload = *v;
      }
    }
    r.finish();
  }

  void read_probe_endpoint(TableReader& r, ProbeEndpointConfig& p) {
    if (auto v = r.boolean("enabled")) p.enabled = *v;
    const toml::node* list = r.node("allowed_targets");
    if (list != nullptr) {
      const toml::array* arr = list->as_array();
      if (arr == nullptr) r.error_at("allowed_targets", "'allowed_targets' must be a list of regexes");
      for (size_t i = 0; arr != nullptr && i < arr->size(); ++i) {
        const auto* s = (*arr)[i].as_string();
        if (s == nullptr) {
          r.error_at((*arr)[i], "'allowed_targets' entries must be strings (regexes)");
          continue;
        }
        auto re = base::Regex::compile(s->get());
        if (re) p.allowed_targets.push_back(std::move(*re));
        else r.error_at((*arr)[i], re.error());
      }
    }
    r.finish();
  }

  static bool valid_listen(const std::string& s) {
    static const std::regex re(R"(^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]*):([0-9]{1,5})$)");
    std::smatch m;
    if (!std::regex_match(s, m, re)) return false;
    int port = std::stoi(m[2].str());
    return port >= 0 && port <= 65535;
  }

  const ProbeTypeInfo* find_type(std::string_view name) const {
    for (const auto& t : types_) {
      if (t.name == name) return &t;
    }
    return nullptr;
  }

  std::string type_list() const {
    std::string out;
    for (const auto& t : types_) {
      if (!out.empty()) out += ", ";
      out += t.name;
    }
    return out;
  }

  // [defaults] may hold any check key but name, type and targets; its type tables are checked
  // with their type's parser.
  void validate_defaults(const toml::table& t) {
    TableReader r({&t}, "[defaults]", diags_, base_dir_);
    for (const char* k : {"name", "type", "targets", "targets_file"}) {
      if (r.has(k)) r.error_at_key(k, std::string("'") + k + "' cannot be set in [defaults]");
      r.mark(k);
    }
    read_common(r, nullptr);
    for (const auto& type : types_) {
      auto sub = r.table(type.name);
      if (!sub) continue;
      if (type.parse != nullptr) {
        type.parse(*sub);
      } else {
        r.error_at_key(type.name, "[defaults." + std::string(type.name) + "]: check type '" +
                                      std::string(type.name) + "' is not supported yet by this version");
      }
    }
    r.finish();
  }

  // Keys every check type shares. c may be null when validating [defaults].
  void read_common(TableReader& r, CheckConfig* c) {
    auto interval = r.duration("interval");
    auto timeout = r.duration("timeout");
    if (interval && *interval < std::chrono::seconds(1)) {
      r.error_at("interval", "'interval' must be at least 1s");
      interval.reset();
    }
    if (timeout && *timeout < std::chrono::milliseconds(10)) {
      r.error_at("timeout", "'timeout' must be at least 10ms");
      timeout.reset();
    }
    if (c != nullptr) {
      if (interval) c->interval = *interval;
      if (timeout) {
        c->timeout = *timeout;
      } else {
        // Unset: 10s, but always below the interval (90% of it for intervals up to 11s).
        c->timeout = std::min<base::Duration>(std::chrono::seconds(10), c->interval * 9 / 10);
      }
      if (c->timeout >= c->interval && r.has("timeout")) {
        std::string msg = "'timeout' (" + format_duration(c->timeout) +
                          ") must be less than 'interval' (" + format_duration(c->interval) + ")";
        bool interval_later = r.has("interval") && later(r.value_pos("interval"), r.value_pos("timeout"));
        r.error_at(interval_later ? "interval" : "timeout", msg);
      }
    }
    if (auto labels = r.string_map("labels")) {
      for (const auto& [k, v] : *labels) {
        if (auto problem = label_name_problem(k)) r.error_at("labels", *problem);
      }
      if (c != nullptr) c->labels = *labels;
    }
    if (auto recv = r.strings("alert_receivers")) {
      for (const auto& name : *recv) {
        if (receiver_names_.count(name) == 0) {
          r.error_at("alert_receivers", "unknown receiver '" + name + "'" +
                                            (receiver_names_.empty() ? " (no [[receivers]] defined)"
                                                                     : " (" + receiver_list() + ")"));
        }
      }
      if (c != nullptr) c->alert_receivers = *recv;
    }
    if (auto v = r.string("runbook_url"); v && c != nullptr) c->runbook_url = *v;
  }

  std::optional<CheckConfig> read_check(TableReader& r, const toml::table* defaults) {
    CheckConfig c;
    c.pos = r.table_pos();
    bool ok = true;
    auto name = r.string("name");
    if (!name) {
      if (!r.has("name")) r.error_here("check has no 'name'");
      ok = false;
    } else if (!valid_name(*name)) {
      r.error_at("name", "check name '" + *name + "' may only use letters, digits, '_', '.', '-'");
      ok = false;
    } else {
      c.name = *name;
    }
    const std::string label = c.name.empty() ? "[[checks]]" : "check '" + c.name + "'";
    r.set_where(label);
    auto type_name = r.string("type");
    const ProbeTypeInfo* type = nullptr;
    if (!type_name) {
      if (!r.has("type")) r.error_here(label + " has no 'type' (one of " + type_list() + ")");
      ok = false;
    } else if ((type = find_type(*type_name)) == nullptr) {
      r.error_at("type", "unknown check type '" + *type_name + "' (one of " + type_list() + ")");
      ok = false;
    } else if (type->parse == nullptr) {
      r.error_at("type", "check type '" + *type_name + "' is not supported yet by this version");
      ok = false;
      type = nullptr;
    } else {
      c.type = *type_name;
    }
    read_common(r, &c);
    read_targets(r, c, type, label);
    // Another type's table under this check is a mistake, not something to ignore.
    for (const auto& t : types_) {
      if (type_name && t.name == *type_name) continue;
      if (r.raw_top()->get(t.name) != nullptr) {
        r.error_at_key(t.name, "[checks." + std::string(t.name) + "] does not apply to " + label +
                                   (type ? " of type '" + std::string(type->name) + "'" : ""));
      }
      r.mark(t.name);
    }
    if (type != nullptr) {
      auto sub = r.table(type->name);
      TableReader empty({&empty_table()}, "[checks." + std::string(type->name) + "]", diags_,
                        base_dir_);
      empty.inherit(r);
      TableReader& tr = sub ? *sub : empty;
      c.spec = type->parse(tr);
      if (!c.spec) ok = false;
    }
    r.finish();
    std::ostringstream fp;
    fp << *r.raw_top();
    if (defaults != nullptr) fp << "\n#defaults\n" << *defaults;
    fp << "\n#expanded " << r.expansion_digest();
    c.fingerprint = fp.str();
    if (!ok) return std::nullopt;
    return c;
  }

  void read_targets(TableReader& r, CheckConfig& c, const ProbeTypeInfo* type,
                    const std::string& label) {
    const bool has_list = r.raw_top()->get("targets") != nullptr;
    const bool has_file = r.raw_top()->get("targets_file") != nullptr;
    if (has_list && has_file) {
      r.error_at_key("targets_file", label + ": set 'targets' or 'targets_file', not both");
    }
    if (auto t = r.strings("targets")) {
      c.template_only = t->empty();
      const auto* arr = r.node("targets")->as_array();
      for (size_t i = 0; i < t->size(); ++i) {
        const std::string& addr = (*t)[i];
        if (type != nullptr && type->check_target != nullptr) {
          if (auto err = type->check_target(addr)) {
            r.error_at(*arr->get(i), *err);
            continue;
          }
        }
        if (std::any_of(c.targets.begin(), c.targets.end(),
                        [&](const Target& x) { return x.address == addr; })) {
          r.error_at(*arr->get(i), "duplicate target '" + addr + "' in " + label);
          continue;
        }
        c.targets.push_back({addr, {}});
      }
    }
    if (auto f = r.string("targets_file")) {
      c.targets_file = resolve_path(*f, base_dir_);
      auto list = read_targets_file(c.targets_file);
      if (!list) {
        r.error_at("targets_file", "targets_file: " + list.error());
      } else {
        for (const auto& t : *list) {
          if (type != nullptr && type->check_target != nullptr) {
            if (auto err = type->check_target(t.address)) {
              r.error_at("targets_file", "targets_file " + c.targets_file + ": " + *err);
              continue;
            }
          }
          c.targets.push_back(t);
        }
      }
    }
    if (!has_list && !has_file) {
      if (type != nullptr && type->targets_optional) {
        c.targets.push_back({c.name, {}});  // runs once; its series carry target = the name
      } else {
        r.error_here(label + " has no 'targets' (or 'targets_file')");
      }
    }
  }

  std::string receiver_list() const {
    std::string out;
    for (const auto& n : receiver_names_) out += (out.empty() ? "" : ", ") + n;
    return out;
  }

  const ProbeTypes& types_;
  std::set<std::string, std::less<>> receiver_names_;
  Diagnostics& diags_;
  std::string base_dir_;
};

std::string dir_of(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

LoadResult load_config_text(std::string_view text, const std::string& path_label,
                            const std::string& base_dir, const ProbeTypes& types) {
  LoadResult out;
  toml::table root;
  try {
    root = toml::parse(text, path_label);
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    out.diags.add({path_label, b.line, b.column}, std::string(e.description()));
    return out;
  }
  Loader loader(types, out.diags, base_dir);
  auto cfg = loader.load(root, path_label);
  if (out.diags.empty()) out.config = std::move(cfg);
  return out;
}

LoadResult load_config(const std::string& path, const ProbeTypes& types) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    LoadResult out;
    out.diags.add({path, 1, 1}, std::string("cannot read config file: ") + std::strerror(errno));
    return out;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return load_config_text(ss.str(), path, dir_of(path), types);
}

}  // namespace probed::config
