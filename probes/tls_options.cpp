#include "probes/tls_options.h"

#include <unistd.h>

#include "config/duration.h"
#include "config/secrets.h"

namespace probed::probes {

bool TlsOptions::read(config::TableReader& t) {
  size_t before = t.diags().size();
  auto file = [&](std::string_view key, std::string& out) {
    auto v = t.string(key);
    if (!v || v->empty()) return;
    out = config::resolve_path(*v, t.base_dir());
    if (access(out.c_str(), R_OK) != 0) {
      t.error_at(key, "cannot read " + std::string(key) + " " + out + ": " + std::strerror(errno));
    }
  };
  file("tls_ca_file", ca_file);
  file("tls_cert_file", cert_file);
  file("tls_key_file", key_file);
  if (cert_file.empty() != key_file.empty()) {
    t.error_at(cert_file.empty() ? "tls_key_file" : "tls_cert_file",
               "'tls_cert_file' and 'tls_key_file' go together (mTLS)");
  }
  if (auto v = t.string("tls_server_name")) server_name = *v;
  if (auto v = t.boolean("insecure_skip_verify")) insecure_skip_verify = *v;
  if (auto v = t.duration("cert_warning")) cert_warning = *v;
  if (auto v = t.duration("cert_critical")) cert_critical = *v;
  if (cert_critical > cert_warning) {
    t.error_at(t.has("cert_critical") ? "cert_critical" : "cert_warning",
               "'cert_critical' (" + config::format_duration(cert_critical) +
                   ") must not be longer than 'cert_warning' (" +
                   config::format_duration(cert_warning) + ")");
  }
  return t.diags().size() == before;
}

}  // namespace probed::probes
