// X.509 helpers shared by every probe that sees certificates: X509 -> CertInfo (RFC 2253
// names, SANs, serial and SHA-256 fingerprint as blackbox prints them), TLS version names,
// and a readable sentence for a verification error. Pure functions; thread-safe.
#pragma once

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <string>
#include <vector>

#include "probes/result.h"

namespace probed::probes {

CertInfo cert_info(X509* cert);
std::vector<CertInfo> chain_info(STACK_OF(X509) * chain);
// "TLS 1.3", as blackbox's probe_tls_version_info labels it.
std::string tls_version_name(const SSL* ssl);
// A verification error as a sentence naming the certificate: "certificate has expired
// (CN=a,O=b, not after 2026-01-02)".
std::string describe_verify_error(long err, const CertInfo* cert);
bool is_expired_error(long err);
// "2026-11-23" from unix seconds.
std::string format_date(int64_t unix_seconds);

}  // namespace probed::probes
