#include "config/targets_file.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "config/labels.h"

namespace probed::config {

base::Expected<std::vector<Target>> parse_targets_json(std::string_view text) {
  nlohmann::json doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return base::unexpected("not valid JSON");
  if (!doc.is_array()) return base::unexpected("expected a JSON array of {\"targets\": [...]}");
  std::vector<Target> out;
  for (size_t i = 0; i < doc.size(); ++i) {
    const auto& group = doc[i];
    const std::string where = "entry " + std::to_string(i);
    if (!group.is_object()) return base::unexpected(where + ": expected an object");
    for (const auto& [k, v] : group.items()) {
      if (k != "targets" && k != "labels") {
        return base::unexpected(where + ": unknown key '" + k + "'");
      }
    }
    auto targets = group.find("targets");
    if (targets == group.end() || !targets->is_array()) {
      return base::unexpected(where + ": 'targets' must be an array of strings");
    }
    Labels labels;
    if (auto l = group.find("labels"); l != group.end()) {
      if (!l->is_object()) return base::unexpected(where + ": 'labels' must be an object");
      for (const auto& [k, v] : l->items()) {
        if (!v.is_string()) {
          return base::unexpected(where + ": label '" + k + "' must be a string");
        }
        if (k.rfind("__", 0) == 0) continue;  // Prometheus drops these after relabeling
        if (auto problem = label_name_problem(k)) return base::unexpected(where + ": " + *problem);
        labels.emplace_back(k, v.get<std::string>());
      }
      std::sort(labels.begin(), labels.end());
    }
    for (const auto& t : *targets) {
      if (!t.is_string() || t.get<std::string>().empty()) {
        return base::unexpected(where + ": targets must be non-empty strings");
      }
      out.push_back({t.get<std::string>(), labels});
    }
  }
  return out;
}

base::Expected<std::vector<Target>> read_targets_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return base::unexpected("cannot read " + path + ": " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  auto t = parse_targets_json(ss.str());
  if (!t) return base::unexpected(path + ": " + t.error());
  return t;
}

}  // namespace probed::config
