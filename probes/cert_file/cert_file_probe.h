// CertFileProbe: certificates in PEM files on this host (type = "cert_file"; globs allowed,
// bundles with many certificates). Files are read on the worker thread, never on the loop;
// the result comes back through loop.post. One series per certificate
// (probe_cert_file_not_after). A run fails only when a file cannot be read or holds no
// certificate; expiry is reported, not failed. Loop thread, apart from the worker job.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/reader.h"
#include "probes/probe.h"

namespace probed::probes {

struct CertFileSpec : config::ProbeSpec {
  base::Duration cert_warning = std::chrono::hours(24 * 30);
  base::Duration cert_critical = std::chrono::hours(24 * 7);

  std::optional<CertThresholds> cert_thresholds(std::string_view) const override {
    return CertThresholds{cert_warning, cert_critical};
  }
};

std::shared_ptr<const config::ProbeSpec> parse_cert_file(config::TableReader& t);
std::optional<std::string> check_cert_file_target(std::string_view target);

// Blocking: expands the glob and reads every certificate. Errors name the file.
struct CertFileScan {
  std::vector<CertInfo> certs;       // source = the file
  std::vector<std::string> errors;   // "cannot read /x: Permission denied", "/y: no certificate"
};
CertFileScan scan_cert_files(const std::string& pattern);

class CertFileProbe : public Probe {
 public:
  CertFileProbe(std::shared_ptr<const CertFileSpec> spec, std::string pattern, Services& services)
      : spec_(std::move(spec)), pattern_(std::move(pattern)), services_(services) {}
  ~CertFileProbe() override { cancel(); }
  // Probe
  void start(Run& run) override;
  Result on_deadline() override;
  void cancel() override;

 private:
  void on_scanned(CertFileScan scan);

  std::shared_ptr<const CertFileSpec> spec_;
  std::string pattern_;
  Services& services_;
  Run* run_ = nullptr;
  // Shared with the worker job; a cancelled run's answer finds it reset and is dropped.
  std::shared_ptr<CertFileProbe*> self_;
};

std::unique_ptr<Probe> make_cert_file_probe(const config::CheckConfig& check,
                                            const config::Target& target, Services& services);

}  // namespace probed::probes
