// DnsSpec: the compiled [checks.dns] table (SPEC §2), its parser, the target check, and the
// evaluation of one reply against it. Built at config load, immutable afterwards and shared by
// every target of the check; evaluate() is const and runs on the loop thread.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "config/reader.h"
#include "probes/assertions/regex.h"
#include "probes/dns/dns_answer.h"
#include "probes/result.h"

namespace probed::probes {

struct DnsSpec : config::ProbeSpec {
  // c-ares server form: "127.0.0.1:53" or "[::1]:53"; "" = the system resolvers.
  std::string server;
  uint16_t record = kTypeA;
  bool tcp = false;
  std::vector<int> valid_rcodes = {0};  // NOERROR
  std::vector<std::string> answer_contains;
  std::vector<Regex> answer_regex;
  // Default 1 when valid_rcodes is exactly ["NOERROR"] (an empty NOERROR, "NODATA", is then a
  // failure); 0 otherwise, so valid_rcodes = ["NXDOMAIN"] passes without answers.
  int64_t min_answers = 1;
  bool recursion_desired = true;

  // What the server is called in messages: the address, or "the system resolvers".
  std::string server_text() const;
  // Checks rcode, then min_answers, answer_contains and answer_regex, against the records of
  // the asked-for type in the answer section. Fails `result` with reason rcode or answer;
  // verdicts (if not null) gets one trace line per assertion.
  void evaluate(int rcode, const std::vector<const DnsRecord*>& answers, Result& result,
                std::vector<std::string>* verdicts) const;
};

std::shared_ptr<const config::ProbeSpec> parse_dns(config::TableReader& t);
// nullopt when target is a DNS name (≤ 253 characters, labels of 1-63) or an IP address.
std::optional<std::string> check_dns_target(std::string_view target);
// "host:port", "[v6]:port", or a bare address (port 53) -> c-ares form; an error otherwise.
base::Expected<std::string> parse_dns_server(std::string_view text);
// The name a query asks for: for PTR an IP address becomes its in-addr.arpa / ip6.arpa name
// (RFC 1035 §3.5, RFC 3596 §2.5); any name gets a trailing dot.
std::string dns_query_name(std::string_view target, uint16_t record);

}  // namespace probed::probes
