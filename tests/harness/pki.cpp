#include "tests/harness/pki.h"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <stdexcept>

#include "tests/harness/ports.h"

namespace probed::testing {
namespace {

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

[[noreturn]] void fail(const std::string& what) {
  std::string msg = "pki: " + what;
  unsigned long e;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    msg += "\n  ";
    msg += buf;
  }
  throw std::runtime_error(msg);
}

void check(bool ok, const std::string& what) {
  if (!ok) fail(what);
}

// A certificate together with its private key and where its PEM lives.
struct Authority {
  X509Ptr cert;
  PkeyPtr key;
  std::string path;
};

PkeyPtr new_key(bool rsa) {
  EVP_PKEY* k = rsa ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256");
  check(k != nullptr, "key generation");
  return PkeyPtr(k);
}

void add_ext(X509* cert, X509V3_CTX* ctx, int nid, const std::string& value) {
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, ctx, nid, value.c_str());
  check(ext != nullptr, "extension " + std::string(OBJ_nid2sn(nid)) + "=" + value);
  int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  check(ok == 1, "X509_add_ext");
}

void set_name(X509_NAME* name, const std::string& cn) {
  auto add = [&](const char* field, const std::string& v) {
    check(X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                     reinterpret_cast<const unsigned char*>(v.c_str()), -1, -1,
                                     0) == 1,
          std::string("name entry ") + field);
  };
  add("O", "probed tests");
  if (!cn.empty()) add("CN", cn);
}

// Builds and signs a certificate for `key`. issuer == nullptr => self-signed.
X509Ptr make_cert(const CertSpec& spec, EVP_PKEY* key, const Authority* issuer) {
  X509Ptr cert(X509_new());
  check(cert != nullptr, "X509_new");
  X509* x = cert.get();
  check(X509_set_version(x, X509_VERSION_3) == 1, "X509_set_version");

  unsigned char serial[16];
  check(RAND_bytes(serial, sizeof(serial)) == 1, "RAND_bytes");
  serial[0] = static_cast<unsigned char>((serial[0] & 0x7f) | 0x40);  // positive, full 16 bytes
  BIGNUM* bn = BN_bin2bn(serial, sizeof(serial), nullptr);
  check(bn != nullptr && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != nullptr, "serial");
  BN_free(bn);

  check(X509_gmtime_adj(X509_getm_notBefore(x), spec.not_before_offset_s) != nullptr, "notBefore");
  check(X509_gmtime_adj(X509_getm_notAfter(x), spec.not_after_offset_s) != nullptr, "notAfter");
  check(X509_set_pubkey(x, key) == 1, "X509_set_pubkey");
  set_name(X509_get_subject_name(x), spec.cn);
  check(X509_set_issuer_name(
            x, issuer ? X509_get_subject_name(issuer->cert.get()) : X509_get_subject_name(x)) == 1,
        "X509_set_issuer_name");

  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer ? issuer->cert.get() : x, x, nullptr, nullptr, 0);
  const bool rsa = EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA;
  if (spec.is_ca) {
    add_ext(x, &ctx, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(x, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature");
  } else {
    add_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE");
    std::string ku =
        rsa ? "critical,digitalSignature,keyEncipherment" : "critical,digitalSignature";
    // A self-signed leaf must be able to sign itself, or OpenSSL does not even recognise it as
    // self-signed (and reports "unable to get local issuer" instead of "self-signed").
    if (issuer == nullptr) ku += ",keyCertSign";
    add_ext(x, &ctx, NID_key_usage, ku);
    add_ext(x, &ctx, NID_ext_key_usage, spec.client ? "clientAuth" : "serverAuth");
  }
  std::string san;
  for (const auto& d : spec.dns_sans) san += (san.empty() ? "" : ",") + ("DNS:" + d);
  for (const auto& ip : spec.ip_sans) san += (san.empty() ? "" : ",") + ("IP:" + ip);
  if (!san.empty()) add_ext(x, &ctx, NID_subject_alt_name, san);
  add_ext(x, &ctx, NID_subject_key_identifier, "hash");
  add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always");

  check(X509_sign(x, issuer ? issuer->key.get() : key, EVP_sha256()) > 0, "X509_sign");
  return cert;
}

void write_pem(const std::string& path, const std::vector<X509*>& certs) {
  FILE* f = std::fopen(path.c_str(), "w");
  check(f != nullptr, "open " + path);
  bool ok = true;
  for (X509* c : certs) ok = ok && PEM_write_X509(f, c) == 1;
  ok = (std::fclose(f) == 0) && ok;
  check(ok, "write " + path);
}

void write_key(const std::string& path, EVP_PKEY* key) {
  FILE* f = std::fopen(path.c_str(), "w");
  check(f != nullptr, "open " + path);
  ::fchmod(fileno(f), 0600);
  bool ok = PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  ok = (std::fclose(f) == 0) && ok;
  check(ok, "write " + path);
}

CertSpec ca_spec(const std::string& cn, long not_after) {
  CertSpec s;
  s.cn = cn;
  s.is_ca = true;
  s.not_after_offset_s = not_after;
  return s;
}

constexpr long kDay = 86400;

}  // namespace

struct Pki::Impl {
  std::string dir;
  Authority root;
  Authority intermediate;

  Authority make_ca(const std::string& file, const std::string& cn, long not_after,
                    const Authority* issuer) {
    Authority a;
    a.key = new_key(false);
    a.cert = make_cert(ca_spec(cn, not_after), a.key.get(), issuer);
    a.path = dir + "/" + file;
    write_pem(a.path, {a.cert.get()});
    write_key(dir + "/" + file.substr(0, file.rfind('.')) + ".key", a.key.get());
    return a;
  }

  // issuer == nullptr => self-signed; `chain_extra` are appended to the chain file.
  IssuedCert emit(const std::string& name, const CertSpec& spec, const Authority* issuer,
                  const std::vector<X509*>& chain_extra) {
    PkeyPtr key = new_key(spec.rsa);
    X509Ptr cert = make_cert(spec, key.get(), issuer);
    IssuedCert out;
    out.cert_path = dir + "/" + name + ".crt";
    out.key_path = dir + "/" + name + ".key";
    out.chain_path = dir + "/" + name + "-chain.pem";
    write_pem(out.cert_path, {cert.get()});
    write_key(out.key_path, key.get());
    std::vector<X509*> chain{cert.get()};
    chain.insert(chain.end(), chain_extra.begin(), chain_extra.end());
    write_pem(out.chain_path, chain);
    return out;
  }
};

Pki::Pki(std::string dir) : impl_(std::make_unique<Impl>()) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw std::runtime_error("pki: cannot create " + dir + ": " + ec.message());
  impl_->dir = std::move(dir);
  impl_->root = impl_->make_ca("ca.pem", "probed test root CA", 3650 * kDay, nullptr);
  impl_->intermediate =
      impl_->make_ca("intermediate.pem", "probed test intermediate CA", 1825 * kDay, &impl_->root);
}

Pki::~Pki() = default;
Pki::Pki(Pki&&) noexcept = default;
Pki& Pki::operator=(Pki&&) noexcept = default;

const std::string& Pki::dir() const { return impl_->dir; }
const std::string& Pki::ca_path() const { return impl_->root.path; }
const std::string& Pki::intermediate_path() const { return impl_->intermediate.path; }

IssuedCert Pki::issue(const std::string& name, const CertSpec& spec) {
  return impl_->emit(name, spec, &impl_->intermediate, {impl_->intermediate.cert.get()});
}

IssuedCert Pki::issue_by_root(const std::string& name, const CertSpec& spec) {
  return impl_->emit(name, spec, &impl_->root, {});
}

IssuedCert Pki::self_signed(const std::string& name, const CertSpec& spec) {
  return impl_->emit(name, spec, nullptr, {});
}

IssuedCert Pki::issue_with_intermediate(const std::string& name, const CertSpec& leaf,
                                        long intermediate_not_after_offset_s) {
  Authority inter =
      impl_->make_ca(name + "-intermediate.pem", "probed test intermediate CA (" + name + ")",
                     intermediate_not_after_offset_s, &impl_->root);
  return impl_->emit(name, leaf, &inter, {inter.cert.get()});
}

StandardCerts make_standard_certs(Pki& pki) {
  auto localhost = [](long not_before, long not_after) {
    CertSpec s;
    s.cn = "localhost";
    s.dns_sans = {"localhost"};
    s.ip_sans = {"127.0.0.1", "::1"};
    s.not_before_offset_s = not_before;
    s.not_after_offset_s = not_after;
    return s;
  };
  StandardCerts c;
  c.valid = pki.issue("valid", localhost(-3600, 90 * kDay));
  c.expired = pki.issue("expired", localhost(-30 * kDay, -2 * kDay));
  c.expiring_3d = pki.issue("expiring_3d", localhost(-3600, 3 * kDay));
  c.not_yet_valid = pki.issue("not_yet_valid", localhost(2 * kDay, 90 * kDay));
  CertSpec wrong = localhost(-3600, 90 * kDay);
  wrong.cn = "wrong.example.test";
  wrong.dns_sans = {"wrong.example.test"};
  wrong.ip_sans.clear();
  c.wrong_host = pki.issue("wrong_host", wrong);
  c.self_signed = pki.self_signed("self_signed", localhost(-3600, 90 * kDay));
  CertSpec client;
  client.cn = "probe-client";
  client.client = true;
  c.client = pki.issue_by_root("client", client);
  c.intermediate_expiring_first = pki.issue_with_intermediate(
      "intermediate_expiring_first", localhost(-3600, 90 * kDay), 2 * kDay);
  return c;
}

}  // namespace probed::testing
