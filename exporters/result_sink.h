// ResultSink: where finished runs go (metrics, alerts, status). Called on the loop thread, in
// registration order, once per finished run; on_removed when a reload or a targets_file change
// drops a (check, target).
#pragma once

#include <string>

#include "config/config.h"
#include "probes/result.h"

namespace probed::exporters {

struct CheckKey {
  std::string check;
  std::string target;
  bool operator==(const CheckKey&) const = default;
  bool operator<(const CheckKey& o) const {
    return check < o.check || (check == o.check && target < o.target);
  }
};

class ResultSink {
 public:
  virtual ~ResultSink() = default;
  virtual void on_result(const config::CheckConfig& check, const config::Target& target,
                         const probes::Result& result) = 0;
  virtual void on_removed(const CheckKey& key) = 0;
};

// The series labels of SPEC §3: check, type, target, the check's labels, the target's labels
// (targets_file), and location when set. Sorted by name.
config::Labels series_labels(const config::CheckConfig& check, const config::Target& target,
                             const std::string& location);

}  // namespace probed::exporters
