// libFuzzer: a DNS reply of arbitrary bytes through parse_dns_reply and every text form the dns
// check shows (record data, names, question, flags, type and rcode names). A reply is
// untrusted input from the network: parsing must not read out of bounds or loop, and what
// reaches messages, traces and metric labels must be printable ASCII (RFC 1035 §5.1 escapes).
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "probes/dns/dns_answer.h"

namespace {

void require_printable(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c > 0x7e) __builtin_trap();
  }
}

void check_section(const std::vector<probed::probes::DnsRecord>& records) {
  for (const auto& rr : records) {
    require_printable(rr.name);
    require_printable(rr.text);
    require_printable(probed::probes::dns_type_name(rr.type));
    if (rr.name.empty() || rr.name.back() != '.') __builtin_trap();  // names are absolute
    if (rr.soa_serial && rr.type != probed::probes::kTypeSoa) __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<unsigned char> msg(data, data + size);
  auto reply = probed::probes::parse_dns_reply(msg);
  if (!reply) {
    if (reply.error().empty()) __builtin_trap();
    return 0;
  }
  // Every record occupies at least 11 bytes: the counts cannot claim more than the bytes hold.
  size_t records = reply->answer.size() + reply->authority.size() + reply->additional.size();
  if (records * 11 > size) __builtin_trap();
  if (reply->answer.size() != reply->ancount) __builtin_trap();
  require_printable(reply->question);
  require_printable(reply->flags_text());
  require_printable(probed::probes::dns_rcode_name(reply->rcode));
  check_section(reply->answer);
  check_section(reply->authority);
  check_section(reply->additional);
  return 0;
}
