// ResultSink: where finished runs go (metrics, alerts, status). Called on the loop thread, in
// registration order, once per finished run; on_removed when a reload or a targets_file change
// drops a (check, target).
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "config/config.h"
#include "probes/result.h"

namespace probed::exporters {

struct CheckKey {
  std::string check;
  std::string target;
  bool operator==(const CheckKey&) const = default;
  bool operator<(const CheckKey& o) const;  // as CheckKeyLess, below
};

// A (check, target) pair by reference: the sinks look up their slot once per result with one,
// without copying the two strings into a CheckKey.
struct CheckKeyRef {
  std::string_view check;
  std::string_view target;
  CheckKeyRef(std::string_view c, std::string_view t) : check(c), target(t) {}
  CheckKeyRef(const CheckKey& k) : check(k.check), target(k.target) {}  // NOLINT: implicit on purpose
  CheckKey to_key() const { return {std::string(check), std::string(target)}; }
};

// Orders CheckKey and CheckKeyRef alike (by check, then target), so maps keyed by CheckKey can
// be searched with either.
struct CheckKeyLess {
  using is_transparent = void;
  bool operator()(CheckKeyRef a, CheckKeyRef b) const {
    const int c = a.check.compare(b.check);
    return c < 0 || (c == 0 && a.target < b.target);
  }
};
inline bool CheckKey::operator<(const CheckKey& o) const { return CheckKeyLess{}(*this, o); }

template <class T>
using CheckKeyMap = std::map<CheckKey, T, CheckKeyLess>;

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
