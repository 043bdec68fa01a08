#include "probes/cert_file/cert_file_probe.h"

#include <glob.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include <cerrno>
#include <cstring>

#include "config/duration.h"
#include "probes/metric_names.h"
#include "probes/tls_inspect.h"

namespace probed::probes {

std::shared_ptr<const config::ProbeSpec> parse_cert_file(config::TableReader& t) {
  auto s = std::make_shared<CertFileSpec>();
  size_t before = t.diags().size();
  if (auto v = t.duration("cert_warning")) s->cert_warning = *v;
  if (auto v = t.duration("cert_critical")) s->cert_critical = *v;
  if (s->cert_critical > s->cert_warning) {
    t.error_at("cert_critical", "'cert_critical' (" + config::format_duration(s->cert_critical) +
                                    ") must not be longer than 'cert_warning' (" +
                                    config::format_duration(s->cert_warning) + ")");
  }
  t.finish();
  if (t.diags().size() != before) return nullptr;
  return s;
}

std::optional<std::string> check_cert_file_target(std::string_view target) {
  if (target.empty()) return "a cert_file target is a file path or glob, not empty";
  if (target.front() != '/') return "cert_file target \"" + std::string(target) + "\" must be an absolute path";
  return std::nullopt;
}

CertFileScan scan_cert_files(const std::string& pattern) {
  CertFileScan out;
  glob_t g{};
  int rc = glob(pattern.c_str(), GLOB_ERR, nullptr, &g);
  if (rc == GLOB_NOMATCH) {
    out.errors.push_back("no file matches " + pattern);
  } else if (rc != 0) {
    out.errors.push_back("cannot list " + pattern + ": " + std::strerror(errno));
  }
  for (size_t i = 0; rc == 0 && i < g.gl_pathc; ++i) {
    std::string path = g.gl_pathv[i];
    BIO* bio = BIO_new_file(path.c_str(), "r");
    if (bio == nullptr) {
      out.errors.push_back("cannot read " + path + ": " + std::strerror(errno));
      ERR_clear_error();
      continue;
    }
    size_t found = 0;
    while (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
      CertInfo c = cert_info(cert);
      c.source = path;
      out.certs.push_back(std::move(c));
      X509_free(cert);
      ++found;
    }
    ERR_clear_error();  // the end of the file reads as an error
    BIO_free(bio);
    if (found == 0) out.errors.push_back(path + ": no PEM certificate in it");
  }
  globfree(&g);
  return out;
}

void CertFileProbe::start(Run& run) {
  run_ = &run;
  self_ = std::make_shared<CertFileProbe*>(this);
  std::weak_ptr<CertFileProbe*> weak = self_;
  io::Loop* loop = &services_.loop;
  std::string pattern = pattern_;
  auto job = [weak, loop, pattern] {
    auto scan = std::make_shared<CertFileScan>(scan_cert_files(pattern));
    loop->post([weak, scan] {
      if (auto self = weak.lock(); self && *self) (*self)->on_scanned(std::move(*scan));
    });
  };
  if (services_.worker != nullptr) {
    services_.worker->submit(std::move(job));
  } else {
    services_.loop.defer([this] { on_scanned({{}, {"no worker thread for file reads (bug)"}}); });
  }
}

void CertFileProbe::on_scanned(CertFileScan scan) {
  if (run_ == nullptr) return;
  Result r;
  double now = base::unix_now();
  for (const auto& c : scan.certs) {
    r.add_sample(names::kCertFileNotAfter, static_cast<double>(c.not_after),
                 {{"file", c.source}, {"issuer", c.issuer}, {"serialnumber", c.serial}, {"subject", c.subject}});
    run_->trace(c.source + ": " + c.subject + " not after " + format_date(c.not_after));
  }
  r.chain = std::move(scan.certs);
  r.success = true;
  if (!scan.errors.empty()) {
    r.fail_with(FailureReason::Error, scan.errors.front() +
                                          (scan.errors.size() > 1 ? " (and " + std::to_string(scan.errors.size() - 1) + " more)" : ""));
  }
  // Expiry does not fail the run: a trust bundle legitimately holds expired roots (Debian 12's
  // has one). Each certificate's not-after is exported, and expiry is what the certificate
  // thresholds, `probed certs` and CertificateExpiringSoon alerts act on.
  size_t expired = 0;
  for (const auto& c : r.chain) expired += static_cast<double>(c.not_after) <= now ? 1 : 0;
  if (r.success) {
    r.message = std::to_string(r.chain.size()) + " certificates" +
                (expired > 0 ? ", " + std::to_string(expired) + " expired" : "");
  }
  Run* run = run_;
  run_ = nullptr;
  self_.reset();
  run->finish(std::move(r));
}

Result CertFileProbe::on_deadline() {
  cancel();
  return Result::fail(FailureReason::Timeout, "timeout reading " + pattern_);
}

void CertFileProbe::cancel() {
  if (self_) *self_ = nullptr;
  self_.reset();
  run_ = nullptr;
}

std::unique_ptr<Probe> make_cert_file_probe(const config::CheckConfig& check,
                                            const config::Target& target, Services& services) {
  return std::make_unique<CertFileProbe>(std::static_pointer_cast<const CertFileSpec>(check.spec),
                                         target.address, services);
}

}  // namespace probed::probes
