#include "probes/dns/dns_answer.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <utility>

namespace probed::probes {
namespace {

using Bytes = std::vector<unsigned char>;

struct TypeName {
  uint16_t type;
  std::string_view name;
};

// Query types first, in SPEC order; the rest only name what a reply may carry.
constexpr std::array<TypeName, 18> kTypes = {{
    {kTypeA, "A"},
    {kTypeAaaa, "AAAA"},
    {kTypeCname, "CNAME"},
    {kTypeMx, "MX"},
    {kTypeNs, "NS"},
    {kTypeTxt, "TXT"},
    {kTypeSoa, "SOA"},
    {kTypeSrv, "SRV"},
    {kTypePtr, "PTR"},
    {kTypeCaa, "CAA"},
    {39, "DNAME"},
    {41, "OPT"},
    {43, "DS"},
    {46, "RRSIG"},
    {47, "NSEC"},
    {48, "DNSKEY"},
    {64, "SVCB"},
    {65, "HTTPS"},
}};
constexpr size_t kQueryTypes = 10;

constexpr std::array<std::string_view, 11> kRcodes = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
                                                      "NOTIMP",  "REFUSED", "YXDOMAIN", "YXRRSET",
                                                      "NXRRSET", "NOTAUTH", "NOTZONE"};

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// One byte of a label or character-string in presentation form (RFC 1035 §5.1).
void append_escaped(std::string& out, unsigned char c, bool in_name) {
  if (c < 0x20 || c > 0x7e) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\%03u", static_cast<unsigned>(c));
    out += buf;
  } else if (in_name && (c == '.' || c == '\\')) {
    out += '\\';
    out += static_cast<char>(c);
  } else {
    out += static_cast<char>(c);
  }
}

class Reader {
 public:
  explicit Reader(const Bytes& m) : m_(m) {}

  uint16_t u16(size_t at) const { return static_cast<uint16_t>(m_[at] << 8 | m_[at + 1]); }
  uint32_t u32(size_t at) const {
    return static_cast<uint32_t>(u16(at)) << 16 | static_cast<uint32_t>(u16(at + 2));
  }
  size_t size() const { return m_.size(); }
  const Bytes& bytes() const { return m_; }

  // Reads a possibly compressed name at *pos (RFC 1035 §4.1.4); *pos moves past its in-place
  // part. Pointers must point backwards, which also rules out loops.
  base::Expected<std::string> name(size_t* pos) const {
    std::string out;
    size_t at = *pos;
    bool jumped = false;
    size_t wire_len = 0;
    for (;;) {
      if (at >= m_.size()) return base::unexpected("name runs past the end of the message");
      unsigned char len = m_[at];
      if ((len & 0xc0) == 0xc0) {
        if (at + 1 >= m_.size()) return base::unexpected("name pointer cut off");
        size_t target = static_cast<size_t>(u16(at) & 0x3fff);
        if (target >= at) return base::unexpected("name pointer does not point backwards");
        if (!jumped) *pos = at + 2;
        jumped = true;
        at = target;
        continue;
      }
      if ((len & 0xc0) != 0) return base::unexpected("bad label type in name");
      if (len == 0) break;
      wire_len += len + 1u;
      if (wire_len > 255) return base::unexpected("name longer than 255 bytes");
      if (at + 1 + len > m_.size()) return base::unexpected("label runs past the end");
      for (size_t i = 0; i < len; ++i) append_escaped(out, m_[at + 1 + i], true);
      out += '.';
      at += 1 + len;
    }
    if (!jumped) *pos = at + 1;
    return out.empty() ? std::string(".") : out;
  }

 private:
  const Bytes& m_;
};

std::string address_text(const unsigned char* p, int family) {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(family, p, buf, sizeof buf);
  return buf;
}

// <character-string>s from start to end (TXT), concatenated.
base::Expected<std::string> strings_text(const Bytes& m, size_t at, size_t end) {
  std::string out;
  while (at < end) {
    size_t len = m[at];
    if (at + 1 + len > end) return base::unexpected("TXT string runs past its record");
    for (size_t i = 0; i < len; ++i) append_escaped(out, m[at + 1 + i], false);
    at += 1 + len;
  }
  return out;
}

std::string generic_text(const Bytes& m, size_t at, size_t len) {  // RFC 3597 §5
  std::string out = "\\# " + std::to_string(len);
  if (len > 0) out += ' ';
  char buf[4];
  for (size_t i = 0; i < len; ++i) {
    std::snprintf(buf, sizeof buf, "%02x", static_cast<unsigned>(m[at + i]));
    out += buf;
  }
  return out;
}

// A name inside rdata at *p; it must not run past the record (its compressed tail may point
// anywhere before it).
base::Expected<std::string> rdata_name(const Reader& r, size_t* p, size_t end) {
  auto n = r.name(p);
  if (n && *p > end) return base::unexpected("name runs past its record");
  return n;
}

// MX, SRV, NS, CNAME, PTR, DNAME: `fields` 16-bit numbers, then a name ("10 mail.example.").
base::Expected<std::string> numbers_and_name(const Reader& r, size_t at, size_t end,
                                             size_t fields) {
  std::string out;
  for (size_t i = 0; i < fields; ++i) out += std::to_string(r.u16(at + 2 * i)) + " ";
  size_t p = at + 2 * fields;
  auto n = rdata_name(r, &p, end);
  if (!n) return n;
  return out + *n;
}

base::Expected<std::string> soa_text(const Reader& r, DnsRecord& rr, size_t at, size_t end) {
  size_t p = at;
  auto mname = rdata_name(r, &p, end);
  if (!mname) return mname;
  auto rname = rdata_name(r, &p, end);
  if (!rname) return rname;
  if (end - p != 20) return base::unexpected("SOA record with a bad length");
  rr.soa_serial = r.u32(p);
  std::string out = *mname + " " + *rname;
  for (size_t i = 0; i < 5; ++i) out += " " + std::to_string(r.u32(p + 4 * i));
  return out;
}

// RFC 8659 §4.1.1: flags, tag length, tag, value -> `0 issue "ca.example"`.
base::Expected<std::string> caa_text(const Bytes& m, size_t at, size_t end) {
  size_t tag_len = m[at + 1];
  if (at + 2 + tag_len > end) return base::unexpected("CAA tag runs past its record");
  std::string out = std::to_string(m[at]) + " ";
  // RFC 8659 tags are letters and digits, but a reply may hold any byte: escaped like the
  // value, so a hostile server cannot put control bytes into messages and traces.
  for (size_t i = at + 2; i < at + 2 + tag_len; ++i) append_escaped(out, m[i], false);
  out += " \"";
  for (size_t i = at + 2 + tag_len; i < end; ++i) {
    if (m[i] == '"' || m[i] == '\\') out += '\\';
    append_escaped(out, m[i], false);
  }
  return out + "\"";
}

// The rdata of rr at [at, end) in presentation form.
base::Expected<std::string> rdata_text(const Reader& r, DnsRecord& rr, size_t at, size_t end) {
  const Bytes& m = r.bytes();
  const size_t len = end - at;
  // Fixed-size parts must be there before anything is read from them.
  struct Limit {
    uint16_t type;
    size_t min, max;
  };
  static constexpr Limit kLimits[] = {{kTypeA, 4, 4},
                                      {kTypeAaaa, 16, 16},
                                      {kTypeMx, 3, 65535},
                                      {kTypeSrv, 7, 65535},
                                      {kTypeCaa, 2, 65535}};
  for (const auto& l : kLimits) {
    if (l.type == rr.type && (len < l.min || len > l.max)) {
      return base::unexpected(dns_type_name(rr.type) + " record with " + std::to_string(len) +
                              " bytes of data");
    }
  }
  switch (rr.type) {
    case kTypeA:
      return address_text(&m[at], AF_INET);
    case kTypeAaaa:
      return address_text(&m[at], AF_INET6);
    case kTypeNs:
    case kTypeCname:
    case kTypePtr:
    case 39:  // DNAME
      return numbers_and_name(r, at, end, 0);
    case kTypeMx:
      return numbers_and_name(r, at, end, 1);
    case kTypeSrv:
      return numbers_and_name(r, at, end, 3);
    case kTypeTxt:
      return strings_text(m, at, end);
    case kTypeSoa:
      return soa_text(r, rr, at, end);
    case kTypeCaa:
      return caa_text(m, at, end);
    default:
      return generic_text(m, at, len);
  }
}

// Reads one resource record at *pos (RFC 1035 §4.1.3).
base::Expected<DnsRecord> read_record(const Reader& r, size_t* pos) {
  DnsRecord rr;
  auto owner = r.name(pos);
  if (!owner) return base::unexpected(owner.error());
  rr.name = *owner;
  if (*pos + 10 > r.size()) return base::unexpected("record header cut off");
  rr.type = r.u16(*pos);
  rr.rclass = r.u16(*pos + 2);
  rr.ttl = r.u32(*pos + 4);
  size_t rdlen = r.u16(*pos + 8);
  size_t start = *pos + 10;
  if (start + rdlen > r.size()) return base::unexpected("record data runs past the end");
  auto text = rdata_text(r, rr, start, start + rdlen);
  if (!text) return base::unexpected(text.error());
  rr.text = std::move(*text);
  *pos = start + rdlen;
  return rr;
}

}  // namespace

std::string DnsReply::flags_text() const {
  static constexpr std::pair<uint16_t, std::string_view> kBits[] = {
      {0x8000, "qr"}, {0x0400, "aa"}, {0x0200, "tc"}, {0x0100, "rd"},
      {0x0080, "ra"}, {0x0020, "ad"}, {0x0010, "cd"}};
  std::string out;
  for (const auto& [bit, name] : kBits) {
    if ((flags & bit) == 0) continue;
    if (!out.empty()) out += ' ';
    out += name;
  }
  return out;
}

base::Expected<DnsReply> parse_dns_reply(const std::vector<unsigned char>& msg) {
  if (msg.size() < 12) {
    return base::unexpected("reply of " + std::to_string(msg.size()) +
                            " bytes is shorter than "
                            "a DNS header");
  }
  Reader r(msg);
  DnsReply out;
  out.id = r.u16(0);
  out.flags = r.u16(2);
  out.rcode = out.flags & 0x0f;
  out.qdcount = r.u16(4);
  out.ancount = r.u16(6);
  out.nscount = r.u16(8);
  out.arcount = r.u16(10);
  size_t pos = 12;
  for (int i = 0; i < out.qdcount; ++i) {
    auto q = r.name(&pos);
    if (!q || pos + 4 > msg.size()) return base::unexpected("question section cut off");
    if (i == 0) out.question = *q + " " + dns_type_name(r.u16(pos));
    pos += 4;
  }
  const std::pair<std::vector<DnsRecord>*, uint16_t> sections[] = {
      {&out.answer, out.ancount}, {&out.authority, out.nscount}, {&out.additional, out.arcount}};
  const char* names[] = {"answer", "authority", "additional"};
  for (size_t s = 0; s < 3; ++s) {
    for (int i = 0; i < sections[s].second; ++i) {
      auto rr = read_record(r, &pos);
      if (!rr) {
        return base::unexpected(std::string(names[s]) + " record " + std::to_string(i + 1) +
                                " of " + std::to_string(sections[s].second) + ": " + rr.error());
      }
      sections[s].first->push_back(std::move(*rr));
    }
  }
  return out;
}

std::string dns_type_name(uint16_t type) {
  for (const auto& t : kTypes) {
    if (t.type == type) return std::string(t.name);
  }
  return "TYPE" + std::to_string(type);
}

std::optional<uint16_t> dns_query_type(std::string_view name) {
  std::string up = upper(name);
  for (size_t i = 0; i < kQueryTypes; ++i) {
    if (kTypes[i].name == up) return kTypes[i].type;
  }
  return std::nullopt;
}

std::string dns_query_type_list() {
  std::string out;
  for (size_t i = 0; i < kQueryTypes; ++i) {
    if (i > 0) out += ", ";
    out += kTypes[i].name;
  }
  return out;
}

std::string dns_rcode_name(int rcode) {
  if (rcode >= 0 && static_cast<size_t>(rcode) < kRcodes.size()) return std::string(kRcodes[rcode]);
  return "RCODE" + std::to_string(rcode);
}

std::optional<int> dns_rcode_from_name(std::string_view name) {
  std::string up = upper(name);
  for (size_t i = 0; i < kRcodes.size(); ++i) {
    if (kRcodes[i] == up) return static_cast<int>(i);
  }
  return std::nullopt;
}

std::string dns_rcode_list() {
  std::string out;
  for (size_t i = 0; i < kRcodes.size(); ++i) {
    if (i > 0) out += ", ";
    out += kRcodes[i];
  }
  return out;
}

}  // namespace probed::probes
