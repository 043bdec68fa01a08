// DnsReply: a DNS reply message (RFC 1035 §4) read from its wire form, with every resource
// record in its presentation ("text") form, plus the record-type and rcode name tables the dns
// check uses. Pure functions on byte buffers; thread-safe. Owned by nobody: plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/base/expected.h"

namespace probed::probes {

// Record types the dns check can ask for (SPEC §2), with their RFC numbers.
inline constexpr uint16_t kTypeA = 1;
inline constexpr uint16_t kTypeNs = 2;
inline constexpr uint16_t kTypeCname = 5;
inline constexpr uint16_t kTypeSoa = 6;
inline constexpr uint16_t kTypePtr = 12;
inline constexpr uint16_t kTypeMx = 15;
inline constexpr uint16_t kTypeTxt = 16;
inline constexpr uint16_t kTypeAaaa = 28;
inline constexpr uint16_t kTypeSrv = 33;
inline constexpr uint16_t kTypeCaa = 257;
inline constexpr uint16_t kClassIn = 1;

struct DnsRecord {
  std::string name;  // owner name, absolute: "www.example.com."
  uint16_t type = 0;
  uint16_t rclass = 0;
  uint32_t ttl = 0;
  // The data in presentation form: "192.0.2.1", "10 mail.example.com.", `0 issue "ca.org"`.
  // TXT strings are concatenated without a separator (as SPF and DKIM read them, RFC 7208
  // §3.3); bytes outside printable ASCII are written as \DDD (RFC 1035 §5.1).
  std::string text;
  std::optional<uint32_t> soa_serial;  // SOA only
};

struct DnsReply {
  uint16_t id = 0;
  uint16_t flags = 0;  // the 16 flag bits of the header, rcode included
  int rcode = 0;       // low 4 bits of byte 3
  uint16_t qdcount = 0, ancount = 0, nscount = 0, arcount = 0;
  std::string question;  // "www.example.com. A", empty when QDCOUNT is 0
  std::vector<DnsRecord> answer, authority, additional;

  bool truncated() const { return (flags & 0x0200) != 0; }
  std::string flags_text() const;  // "qr aa rd ra"
};

// Reads a whole reply. An error names what is wrong and where ("answer 2: A record with 5
// bytes of data"); a reply with fewer than 12 bytes is an error too.
base::Expected<DnsReply> parse_dns_reply(const std::vector<unsigned char>& msg);

// "A", "AAAA", ..., "TYPE65280" for types without a name (RFC 3597 §5).
std::string dns_type_name(uint16_t type);
// The types the check accepts in `record`, case-insensitive; nullopt for any other.
std::optional<uint16_t> dns_query_type(std::string_view name);
// "A, AAAA, CNAME, MX, NS, TXT, SOA, SRV, PTR, CAA": for error messages.
std::string dns_query_type_list();

// "NOERROR", "SERVFAIL", ..., "RCODE12" (RFC 6895 §2.3).
std::string dns_rcode_name(int rcode);
// Case-insensitive; nullopt for an unknown name.
std::optional<int> dns_rcode_from_name(std::string_view name);
std::string dns_rcode_list();

}  // namespace probed::probes
