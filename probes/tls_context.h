// Client SSL_CTXs for the tcp and tls probes, built at config load (blocking file reads of the
// CA bundle and client keys happen there, off the event loop) and shared: checks with the
// same CA file and client certificate share one context and one parsed trust store.
// A context is read-only after creation and safe to use from any thread; SSL objects made
// from it belong to the loop thread. TlsObservation is what a handshake's verify callback
// saw: the served chain and the first verification error, even when verification fails.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "daemon/base/expected.h"
#include "probes/result.h"
#include "probes/tls_options.h"

namespace probed::probes {

using SslCtxPtr = std::shared_ptr<SSL_CTX>;

// The context for these options (cached by CA file, client cert and key).
base::Expected<SslCtxPtr> tls_client_context(const TlsOptions& opts);

struct TlsObservation {
  std::vector<CertInfo> chain;  // as served, leaf first
  long verify_error = 0;        // X509_V_OK (0) when none
  std::optional<CertInfo> error_cert;
  bool insecure = false;        // insecure_skip_verify: record errors, do not fail
  // The server asked for a client certificate and none is configured. Under TLS 1.3 a server
  // that requires one says so only after the handshake, so the probe then waits for its word.
  bool client_cert_requested = false;
};

// Makes an SSL for one connection: SNI and the name to verify (a DNS name or an IP literal),
// with `obs` attached so the verify callback can fill it. Returns null on allocation failure.
SSL* new_client_ssl(SSL_CTX* ctx, const std::string& name, TlsObservation* obs);

// The failure a finished handshake amounts to: {reason, message}; reason None when fine.
std::pair<FailureReason, std::string> judge_handshake(const TlsObservation& obs,
                                                      const std::string& name,
                                                      const std::string& ssl_error);

}  // namespace probed::probes
