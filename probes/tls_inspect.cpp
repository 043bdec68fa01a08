#include "probes/tls_inspect.h"

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include <ctime>

namespace probed::probes {
namespace {

std::string name_rfc2253(X509_NAME* name) {
  if (name == nullptr) return {};
  BIO* bio = BIO_new(BIO_s_mem());
  X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(len));
  BIO_free(bio);
  return out;
}

int64_t asn1_unix(const ASN1_TIME* t) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return static_cast<int64_t>(timegm(&tm));
}

std::string sans_of(X509* cert) {
  std::string out;
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names, i);
    std::string v;
    if (gn->type == GEN_DNS) {
      const auto* s = gn->d.dNSName;
      v.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), ASN1_STRING_length(s));
    } else if (gn->type == GEN_IPADD) {
      const auto* s = gn->d.iPAddress;
      const unsigned char* p = ASN1_STRING_get0_data(s);
      char buf[64];
      if (ASN1_STRING_length(s) == 4) {
        std::snprintf(buf, sizeof buf, "%d.%d.%d.%d", p[0], p[1], p[2], p[3]);
        v = buf;
      } else if (ASN1_STRING_length(s) == 16) {
        for (int j = 0; j < 16; j += 2) {
          std::snprintf(buf, sizeof buf, "%s%x", j ? ":" : "", (p[j] << 8) | p[j + 1]);
          v += buf;
        }
      }
    }
    if (v.empty()) continue;
    if (!out.empty()) out += ",";
    out += v;
  }
  GENERAL_NAMES_free(names);
  return out;
}

std::string hex(const unsigned char* p, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out += digits[p[i] >> 4];
    out += digits[p[i] & 15];
  }
  return out;
}

}  // namespace

CertInfo cert_info(X509* cert) {
  CertInfo c;
  if (cert == nullptr) return c;
  c.subject = name_rfc2253(X509_get_subject_name(cert));
  c.issuer = name_rfc2253(X509_get_issuer_name(cert));
  c.sans = sans_of(cert);
  c.not_before = asn1_unix(X509_get0_notBefore(cert));
  c.not_after = asn1_unix(X509_get0_notAfter(cert));
  if (BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr)) {
    if (char* h = BN_bn2hex(bn)) {
      std::string s(h);
      OPENSSL_free(h);
      for (auto& ch : s) ch = static_cast<char>(std::tolower(ch));
      size_t nz = s.find_first_not_of('0');
      c.serial = nz == std::string::npos ? "0" : s.substr(nz);
    }
    BN_free(bn);
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (X509_digest(cert, EVP_sha256(), md, &len) == 1) c.fingerprint_sha256 = hex(md, len);
  return c;
}

std::vector<CertInfo> chain_info(STACK_OF(X509) * chain) {
  std::vector<CertInfo> out;
  if (chain == nullptr) return out;
  for (int i = 0; i < sk_X509_num(chain); ++i) out.push_back(cert_info(sk_X509_value(chain, i)));
  return out;
}

std::string tls_version_name(const SSL* ssl) {
  switch (SSL_version(ssl)) {
    case TLS1_3_VERSION: return "TLS 1.3";
    case TLS1_2_VERSION: return "TLS 1.2";
    case TLS1_1_VERSION: return "TLS 1.1";
    case TLS1_VERSION: return "TLS 1.0";
    default: return SSL_get_version(ssl);
  }
}

std::string format_date(int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%SZ", &tm);
  return buf;
}

bool is_expired_error(long err) {
  return err == X509_V_ERR_CERT_HAS_EXPIRED;
}

std::string describe_verify_error(long err, const CertInfo* cert) {
  std::string what = X509_verify_cert_error_string(err);
  std::string who = cert != nullptr ? cert->subject : std::string("?");
  switch (err) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return "certificate has expired: " + who + " (not after " +
             (cert ? format_date(cert->not_after) : "?") + ")";
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return "certificate is not yet valid: " + who + " (not before " +
             (cert ? format_date(cert->not_before) : "?") + ")";
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
      return "self-signed certificate not trusted: " + who;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
      return "unknown issuer (incomplete chain or untrusted CA): " + who + " issued by " +
             (cert ? cert->issuer : "?");
    default:
      return "certificate verification failed: " + what + ": " + who;
  }
}

}  // namespace probed::probes
