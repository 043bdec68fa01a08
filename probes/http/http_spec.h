// HttpSpec: the compiled [checks.http] table (SPEC §2), and its parser. Built at config load,
// immutable afterwards, shared by every target of the check.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "config/config.h"
#include "config/reader.h"
#include "probes/assertions/response.h"
#include "probes/tls_options.h"

namespace probed::probes {

struct HttpSpec : config::ProbeSpec {
  enum class HttpVersion { Any, Http1_1, Http2 };
  enum class IpVersion { Any, V4, V6 };

  std::string method = "GET";
  config::StringMap headers;
  std::string body;
  ResponseAssertions assertions;
  int64_t max_body_bytes = 4 * 1024 * 1024;
  bool follow_redirects = true;
  int max_redirects = 10;
  HttpVersion http_version = HttpVersion::Any;
  IpVersion ip_version = IpVersion::Any;
  TlsOptions tls;
  std::optional<std::pair<std::string, std::string>> basic_auth;  // username, password
  std::string bearer_token;
  std::string proxy;

  std::optional<CertThresholds> cert_thresholds(std::string_view target) const override {
    if (target.rfind("https://", 0) != 0) return std::nullopt;
    return CertThresholds{tls.cert_warning, tls.cert_critical};
  }
};

std::shared_ptr<const config::ProbeSpec> parse_http(config::TableReader& t);
// Reads every [checks.http] key but 'headers' and 'body' into spec, without finish(): a
// journey step reads the same keys (the same code) and templates headers and body itself.
void read_http_options(config::TableReader& t, HttpSpec& spec);
// nullopt when target is an absolute http:// or https:// URL with a host.
std::optional<std::string> check_http_target(std::string_view target);
// "any" -> AF_UNSPEC, "4" -> AF_INET, "6" -> AF_INET6.
int address_family(HttpSpec::IpVersion v);

}  // namespace probed::probes
