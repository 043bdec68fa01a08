#include "probes/http/http_failure.h"

#include <openssl/x509_vfy.h>

#include <cerrno>
#include <cstring>

#include "probes/tls_inspect.h"

namespace probed::probes {
namespace {

constexpr size_t kMinHiddenLength = 8;

std::pair<FailureReason, std::string> out(FailureReason r, std::string message) {
  return {r, std::move(message)};
}

}  // namespace

std::string hide_values(std::string text,
                        const std::vector<std::pair<std::string, std::string>>& hide) {
  for (const auto& [value, shown] : hide) {
    if (value.size() < kMinHiddenLength) continue;
    for (size_t at = text.find(value); at != std::string::npos; at = text.find(value, at + shown.size())) {
      text.replace(at, value.size(), shown);
    }
  }
  return text;
}

std::pair<FailureReason, std::string> classify_failure(const HopOutcome& o, bool insecure,
                                                      const std::string& url) {
  std::string detail = o.error.empty() ? curl_easy_strerror(o.code) : o.error;
  if (o.os_errno == EMFILE || o.os_errno == ENFILE) {
    return out(FailureReason::Error,
                  "out of file descriptors (" + std::string(std::strerror(o.os_errno)) +
                      "): raise LimitNOFILE or lower max_inflight");
  }
  if (o.verify_error != X509_V_OK && !insecure) {
    const CertInfo* c = o.verify_error_cert ? &*o.verify_error_cert : nullptr;
    return out(is_expired_error(o.verify_error) ? FailureReason::CertExpired : FailureReason::Tls,
                  describe_verify_error(o.verify_error, c));
  }
  switch (o.code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return out(FailureReason::Dns, detail);
    case CURLE_COULDNT_CONNECT:
      return out(FailureReason::Connect, "connect " + url + ": " + detail);
    case CURLE_OPERATION_TIMEDOUT:
      return out(FailureReason::Timeout, detail);
    case CURLE_PEER_FAILED_VERIFICATION:
      if (!o.chain.empty()) {
        return out(FailureReason::Tls, "certificate is not valid for this host (names: " +
                                              o.chain.front().sans + "): " + detail);
      }
      return out(FailureReason::Tls, detail);
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CLIENTCERT:
    case CURLE_USE_SSL_FAILED:
      return out(FailureReason::Tls, "tls: " + detail);
    default:
      break;
  }
  // Where it broke tells the reason: before a status line, the connection or the status line
  // itself; during the headers; during the body.
  if (!o.saw_status) {
    bool malformed = o.code == CURLE_WEIRD_SERVER_REPLY || o.code == CURLE_UNSUPPORTED_PROTOCOL;
    return out(malformed ? FailureReason::Status : FailureReason::Connect,
                  (malformed ? "malformed response: " : "no response: ") + detail);
  }
  if (!o.headers_done) return out(FailureReason::Header, "broken response headers: " + detail);
  return out(FailureReason::Body, "broken response body: " + detail);
}

}  // namespace probed::probes
