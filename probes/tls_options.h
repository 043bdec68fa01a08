// TLS client settings shared by the http, tcp and tls probes: tls_ca_file, tls_cert_file,
// tls_key_file, tls_server_name, insecure_skip_verify, cert_warning, cert_critical.
// Read at config load (files must be readable then); immutable afterwards.
#pragma once

#include <string>

#include "config/reader.h"
#include "daemon/base/clock.h"

namespace probed::probes {

struct TlsOptions {
  std::string ca_file;    // empty: the system trust store
  std::string cert_file;  // client certificate (mTLS)
  std::string key_file;
  std::string server_name;  // SNI and the name verified; empty: the target's host
  bool insecure_skip_verify = false;
  base::Duration cert_warning = std::chrono::hours(24 * 30);
  base::Duration cert_critical = std::chrono::hours(24 * 7);

  // Reads the keys above from t; false (errors recorded) when one is invalid.
  bool read(config::TableReader& t);
};

}  // namespace probed::probes
