// Pki: a throwaway test PKI (root CA -> intermediate CA -> leaves) generated at test time with the
// OpenSSL 3 API and written as PEM files into a directory. Use from one thread at a time.
#ifndef PROBED_TESTS_HARNESS_PKI_H_
#define PROBED_TESTS_HARNESS_PKI_H_

#include <memory>
#include <string>
#include <vector>

namespace probed::testing {

struct CertSpec {
  std::string cn{};
  std::vector<std::string> dns_sans{};
  std::vector<std::string> ip_sans{};
  long not_before_offset_s = -3600;      // relative to now
  long not_after_offset_s = 90 * 86400;  // relative to now
  bool is_ca = false;                    // CA:TRUE + keyCertSign instead of leaf extensions
  bool client = false;                   // clientAuth EKU instead of serverAuth
  bool rsa = false;                      // RSA 2048 key instead of EC P-256
};

struct IssuedCert {
  std::string cert_path{};   // leaf certificate only, PEM
  std::string key_path{};    // unencrypted PKCS#8 private key, PEM (mode 0600)
  std::string chain_path{};  // leaf + issuing intermediates (never the root), PEM
};

class Pki {
 public:
  // Creates `dir` if needed, then the root CA "probed test root CA" (dir/ca.pem, valid 10 years)
  // and the intermediate "probed test intermediate CA" (dir/intermediate.pem, valid 5 years).
  // Throws std::runtime_error on any OpenSSL or file error.
  explicit Pki(std::string dir);
  ~Pki();
  Pki(Pki&&) noexcept;
  Pki& operator=(Pki&&) noexcept;

  const std::string& dir() const;
  const std::string& ca_path() const;            // root CA cert PEM (the trust anchor)
  const std::string& intermediate_path() const;  // the standard intermediate CA cert PEM

  // Files are dir/<name>.crt, dir/<name>.key and dir/<name>-chain.pem.
  IssuedCert issue(const std::string& name, const CertSpec& spec);          // by the intermediate
  IssuedCert issue_by_root(const std::string& name, const CertSpec& spec);  // chain = leaf only
  IssuedCert self_signed(const std::string& name, const CertSpec& spec);    // chain = leaf only
  // A fresh intermediate (dir/<name>-intermediate.pem, signed by the root, expiring at
  // now + intermediate_not_after_offset_s) signs the leaf; chain = leaf + that intermediate.
  IssuedCert issue_with_intermediate(const std::string& name, const CertSpec& leaf,
                                     long intermediate_not_after_offset_s);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The standard set used by probe tests. Unless noted, CN "localhost" with SANs DNS:localhost,
// IP:127.0.0.1, IP:::1, issued by the intermediate (chain_path = leaf + intermediate).
struct StandardCerts {
  IssuedCert valid;                        // valid -1 h .. +90 d
  IssuedCert expired;                      // -30 d .. -2 d
  IssuedCert expiring_3d;                  // -1 h .. +3 d
  IssuedCert not_yet_valid;                // +2 d .. +90 d
  IssuedCert wrong_host;                   // CN and DNS SAN "wrong.example.test" only
  IssuedCert self_signed;                  // self-signed localhost cert, not under the root
  IssuedCert client;                       // CN "probe-client", clientAuth, issued by the ROOT
  IssuedCert intermediate_expiring_first;  // leaf +90 d, its own intermediate expires in 2 d
};
StandardCerts make_standard_certs(Pki& pki);

}  // namespace probed::testing

#endif  // PROBED_TESTS_HARNESS_PKI_H_
