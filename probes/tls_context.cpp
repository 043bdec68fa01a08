#include "probes/tls_context.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <map>
#include <mutex>
#include <tuple>

#include "probes/tls_inspect.h"

namespace probed::probes {
namespace {

int observation_index() {
  static const int idx = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return idx;
}

// Records the served chain and the first error; fails the handshake on an error unless the
// check is insecure_skip_verify.
int on_verify(int preverify_ok, X509_STORE_CTX* ctx) {
  auto* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(ctx, SSL_get_ex_data_X509_STORE_CTX_idx()));
  auto* obs = static_cast<TlsObservation*>(SSL_get_ex_data(ssl, observation_index()));
  if (obs == nullptr) return preverify_ok;
  if (obs->chain.empty()) obs->chain = chain_info(X509_STORE_CTX_get0_untrusted(ctx));
  if (preverify_ok == 0 && obs->verify_error == 0) {
    obs->verify_error = X509_STORE_CTX_get_error(ctx);
    obs->error_cert = cert_info(X509_STORE_CTX_get_current_cert(ctx));
  }
  return obs->insecure ? 1 : preverify_ok;
}

// Called only when the server asks for a client certificate and the context has none.
int on_client_cert(SSL* ssl, X509** /*cert*/, EVP_PKEY** /*key*/) {
  auto* obs = static_cast<TlsObservation*>(SSL_get_ex_data(ssl, observation_index()));
  if (obs != nullptr) obs->client_cert_requested = true;
  return 0;  // no certificate: go on without one
}

std::string openssl_error() {
  unsigned long e = ERR_get_error();
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

bool is_ip(const std::string& s) {
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

}  // namespace

base::Expected<SslCtxPtr> tls_client_context(const TlsOptions& o) {
  static std::mutex mu;
  static std::map<std::tuple<std::string, std::string, std::string>, std::weak_ptr<SSL_CTX>> cache;
  std::lock_guard lock(mu);
  auto key = std::make_tuple(o.ca_file, o.cert_file, o.key_file);
  if (auto hit = cache[key].lock()) return hit;
  SSL_CTX* raw = SSL_CTX_new(TLS_client_method());
  if (raw == nullptr) return base::unexpected("SSL_CTX_new: " + openssl_error());
  SslCtxPtr ctx(raw, SSL_CTX_free);
  SSL_CTX_set_min_proto_version(raw, TLS1_2_VERSION);
  // Every run sees the server's current chain: no session tickets, no resumption.
  SSL_CTX_set_session_cache_mode(raw, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(raw, SSL_OP_NO_TICKET);
  SSL_CTX_set_mode(raw, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_verify(raw, SSL_VERIFY_PEER, &on_verify);
  SSL_CTX_set_client_cert_cb(raw, &on_client_cert);
  int ok = o.ca_file.empty() ? SSL_CTX_set_default_verify_file(raw)
                             : SSL_CTX_load_verify_file(raw, o.ca_file.c_str());
  if (ok != 1) return base::unexpected("cannot load CA file " + o.ca_file + ": " + openssl_error());
  if (!o.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(raw, o.cert_file.c_str()) != 1) {
      return base::unexpected("cannot load tls_cert_file " + o.cert_file + ": " + openssl_error());
    }
    if (SSL_CTX_use_PrivateKey_file(raw, o.key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(raw) != 1) {
      return base::unexpected("cannot use tls_key_file " + o.key_file + ": " + openssl_error());
    }
  }
  cache[key] = ctx;
  return ctx;
}

SSL* new_client_ssl(SSL_CTX* ctx, const std::string& name, TlsObservation* obs) {
  SSL* ssl = SSL_new(ctx);
  if (ssl == nullptr) return nullptr;
  SSL_set_ex_data(ssl, observation_index(), obs);
  if (is_ip(name)) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl, name.c_str());
    SSL_set1_host(ssl, name.c_str());
  }
  return ssl;
}

std::pair<FailureReason, std::string> judge_handshake(const TlsObservation& obs,
                                                      const std::string& name,
                                                      const std::string& ssl_error) {
  if (obs.verify_error != 0 && !obs.insecure) {
    const CertInfo* c = obs.error_cert ? &*obs.error_cert : nullptr;
    if (obs.verify_error == X509_V_ERR_HOSTNAME_MISMATCH || obs.verify_error == X509_V_ERR_IP_ADDRESS_MISMATCH) {
      return {FailureReason::Tls, "certificate is not valid for " + name + " (names: " +
                                      (obs.chain.empty() ? std::string("?") : obs.chain.front().sans) + ")"};
    }
    return {is_expired_error(obs.verify_error) ? FailureReason::CertExpired : FailureReason::Tls,
            describe_verify_error(obs.verify_error, c)};
  }
  if (!ssl_error.empty()) return {FailureReason::Tls, "tls handshake with " + name + " failed: " + ssl_error};
  return {FailureReason::None, ""};
}

}  // namespace probed::probes
