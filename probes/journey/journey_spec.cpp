#include "probes/journey/journey_spec.h"

#include <algorithm>
#include <set>

#include "config/secrets.h"

namespace probed::probes {
namespace {

// Step names become label values; keep them readable in dashboards and traces.
bool valid_step_name(std::string_view s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '.' || c == '-' ||
           c == ' ' || c == ':' || c == '/';
  });
}

class StepReader {
 public:
  StepReader(config::TableReader& r, std::set<std::string>& defined, size_t index)
      : r_(r), defined_(defined), index_(index) {}

  std::optional<JourneyStep> read(std::set<std::string>& names) {
    JourneyStep step;
    auto name = r_.string("name");
    if (!name) {
      if (!r_.has("name")) r_.error_here("journey step " + std::to_string(index_ + 1) + " has no 'name'");
    } else if (!valid_step_name(*name)) {
      r_.error_at("name", "step name '" + *name +
                              "' may only use letters, digits, space, '_', '.', '-', ':', '/'");
    } else if (!names.insert(*name).second) {
      r_.error_at("name", "duplicate step name '" + *name + "'");
    } else {
      step.name = *name;
      r_.set_where("journey step '" + *name + "'");
    }
    if (const auto* n = r_.node("url")) {
      if (auto t = compile(*n, "url")) step.url = std::move(*t);
    } else {
      r_.error_here("journey step " + (name ? "'" + *name + "'" : std::to_string(index_ + 1)) +
                    " has no 'url'");
    }
    read_headers(step);
    if (const auto* n = r_.node("body")) {
      if (auto t = compile(*n, "body")) step.body = std::move(*t);
    }
    auto http = std::make_shared<HttpSpec>();
    read_http_options(r_, *http);
    step.http = std::move(http);
    read_extract(step);  // after the step's own references: they see earlier steps only
    r_.finish();
    return step;
  }

 private:
  // A string value compiled as a template whose variables must be defined by now.
  std::optional<Template> compile(const toml::node& n, const std::string& key) {
    if (!n.is_string()) {
      r_.error_at(n, "'" + key + "' must be a string, not " + config::toml_type_name(n));
      return std::nullopt;
    }
    config::ExpandOptions opts{r_.base_dir(), false};
    auto t = Template::compile(n.as_string()->get(), opts);
    if (!t) {
      r_.error_at(n, "'" + key + "': " + t.error());
      return std::nullopt;
    }
    for (const auto& v : t->variables()) {
      if (defined_.count(v) == 0) {
        r_.error_at(n, "'" + key + "': undefined variable '" + v +
                           "' (not in [checks.journey] variables, not extracted by an earlier "
                           "step, not 'target')");
        return std::nullopt;
      }
    }
    return std::move(*t);
  }

  void read_headers(JourneyStep& step) {
    const auto* n = r_.node("headers");
    if (n == nullptr) return;
    const auto* tbl = n->as_table();
    if (tbl == nullptr) {
      r_.error_at(*n, "'headers' must be a table of strings");
      return;
    }
    for (const auto& [k, v] : *tbl) {
      if (auto t = compile(v, "headers." + std::string(k.str()))) {
        step.headers.emplace_back(std::string(k.str()), std::move(*t));
      }
    }
    std::sort(step.headers.begin(), step.headers.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
  }

  void read_extract(JourneyStep& step) {
    const auto* n = r_.node("extract");
    if (n == nullptr) return;
    const auto* tbl = n->as_table();
    if (tbl == nullptr) {
      r_.error_at(*n, "'extract' must be a table: { name = \"json:/pointer\" }");
      return;
    }
    for (const auto& [k, v] : *tbl) {
      std::string var(k.str());
      if (!valid_variable_name(var)) {
        r_.error_at(v, "invalid variable name '" + var + "' (letters, digits and '_')");
      } else if (var == kTargetVariable) {
        r_.error_at(v, "'target' is set by probed and cannot be extracted");
      } else if (!v.is_string()) {
        r_.error_at(v, "extract '" + var + "' must be a string such as \"json:/token\"");
      } else if (auto e = Extractor::compile(v.as_string()->get()); !e) {
        r_.error_at(v, "extract '" + var + "': " + e.error());
      } else {
        step.extract.emplace_back(var, std::move(*e));
        defined_.insert(var);
      }
    }
  }

  config::TableReader& r_;
  std::set<std::string>& defined_;
  size_t index_;
};

void read_variables(config::TableReader& t, JourneySpec& s) {
  auto vars = t.string_map("variables");
  if (!vars) return;
  for (const auto& [k, v] : *vars) {
    if (!valid_variable_name(k)) {
      t.error_at("variables", "invalid variable name '" + k + "' (letters, digits and '_')");
    } else if (k == kTargetVariable) {
      t.error_at("variables", "'target' is set by probed (the journey's target) and cannot be defined");
    } else {
      s.variables[k] = v;
    }
  }
}

}  // namespace

bool JourneyStep::needs_body() const {
  return std::any_of(extract.begin(), extract.end(), [](const auto& e) { return e.second.needs_body(); });
}

std::optional<config::ProbeSpec::CertThresholds> JourneySpec::cert_thresholds(
    std::string_view target) const {
  Variables vars = variables;
  vars[std::string(kTargetVariable)] = std::string(target);
  for (const auto& step : steps) {
    std::string url = step.url.display(vars, {});
    if (url.rfind("https://", 0) == 0) return step.http->cert_thresholds(url);
  }
  return std::nullopt;
}

std::shared_ptr<const config::ProbeSpec> parse_journey(config::TableReader& t) {
  auto s = std::make_shared<JourneySpec>();
  size_t before = t.diags().size();
  read_variables(t, *s);
  std::set<std::string> defined{std::string(kTargetVariable)};
  for (const auto& [k, v] : s->variables) defined.insert(k);
  std::set<std::string> names;
  auto steps = t.table_array("steps");
  // [defaults.journey] may share variables (or steps) without steps of its own.
  const bool in_defaults = t.where().rfind("[defaults]", 0) == 0;
  if (steps.empty() && !in_defaults && t.diags().size() == before) {
    t.error_here("a journey needs at least one [[checks.journey.steps]]");
  }
  for (size_t i = 0; i < steps.size(); ++i) {
    StepReader reader(steps[i], defined, i);
    if (auto step = reader.read(names)) s->steps.push_back(std::move(*step));
  }
  t.finish();
  if (t.diags().size() != before) return nullptr;
  return s;
}

}  // namespace probed::probes
