#include "probes/dns/dns_spec.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace probed::probes {
namespace {

constexpr size_t kMaxListed = 5;         // answers named in a failure message
constexpr size_t kMaxListedChars = 100;  // per answer (an SOA is ~80)

bool is_ipv4(const std::string& s) {
  in_addr a{};
  return inet_pton(AF_INET, s.c_str(), &a) == 1;
}

bool is_ipv6(const std::string& s) {
  in6_addr a{};
  return inet_pton(AF_INET6, s.c_str(), &a) == 1;
}

std::string strip_dot(std::string_view s) {
  if (s.size() > 1 && s.back() == '.') s.remove_suffix(1);
  return std::string(s);
}

// answer_contains: equal to an answer's text form, the trailing dot optional; ASCII
// case-insensitive (names are, RFC 4343) except for TXT, whose strings are data.
bool same_answer(std::string_view want, std::string_view have, bool case_sensitive) {
  std::string a = strip_dot(want), b = strip_dot(have);
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (!case_sensitive) {
      x = static_cast<char>(std::tolower(static_cast<unsigned char>(x)));
      y = static_cast<char>(std::tolower(static_cast<unsigned char>(y)));
    }
    if (x != y) return false;
  }
  return true;
}

// "[192.0.2.1, 192.0.2.2, ... (3 more)]": enough to see what was found, bounded for alerts.
std::string listed(const std::vector<const DnsRecord*>& answers) {
  std::string out = "[";
  for (size_t i = 0; i < answers.size() && i < kMaxListed; ++i) {
    if (i > 0) out += ", ";
    const std::string& t = answers[i]->text;
    out += t.size() > kMaxListedChars ? t.substr(0, kMaxListedChars) + "..." : t;
  }
  if (answers.size() > kMaxListed) {
    out += ", ... (" + std::to_string(answers.size() - kMaxListed) + " more)";
  }
  return out + "]";
}

std::string rcodes_text(const std::vector<int>& rcodes) {
  std::string out = "[";
  for (size_t i = 0; i < rcodes.size(); ++i) {
    if (i > 0) out += ", ";
    out += dns_rcode_name(rcodes[i]);
  }
  return out + "]";
}

void read_rcodes(config::TableReader& t, DnsSpec& s) {
  auto v = t.strings("valid_rcodes");
  if (!v) return;
  const auto* arr = t.node("valid_rcodes")->as_array();
  if (v->empty()) {
    t.error_at("valid_rcodes", "'valid_rcodes' must name at least one rcode");
    return;
  }
  s.valid_rcodes.clear();
  for (size_t i = 0; i < v->size(); ++i) {
    auto rc = dns_rcode_from_name((*v)[i]);
    if (!rc) {
      t.error_at(*arr->get(i), "unknown rcode '" + (*v)[i] + "' (one of " + dns_rcode_list() + ")");
      continue;
    }
    s.valid_rcodes.push_back(*rc);
  }
}

void read_regexes(config::TableReader& t, DnsSpec& s) {
  auto v = t.strings("answer_regex");
  if (!v) return;
  const auto* arr = t.node("answer_regex")->as_array();
  for (size_t i = 0; i < v->size(); ++i) {
    auto re = Regex::compile((*v)[i]);
    if (!re) {
      t.error_at(*arr->get(i), re.error());
      continue;
    }
    s.answer_regex.push_back(std::move(*re));
  }
}

}  // namespace

std::string DnsSpec::server_text() const {
  return server.empty() ? "the system resolvers" : server;
}

void DnsSpec::evaluate(int rcode, const std::vector<const DnsRecord*>& answers, Result& r,
                       std::vector<std::string>* verdicts) const {
  auto note = [&](std::string line) {
    if (verdicts != nullptr) verdicts->push_back(std::move(line));
  };
  const std::string rc = dns_rcode_name(rcode);
  if (std::find(valid_rcodes.begin(), valid_rcodes.end(), rcode) == valid_rcodes.end()) {
    r.fail_with(FailureReason::Rcode, "rcode " + rc + " not in " + rcodes_text(valid_rcodes));
    note("valid_rcodes " + rcodes_text(valid_rcodes) + ": " + rc + " FAIL");
    return;
  }
  note("valid_rcodes " + rcodes_text(valid_rcodes) + ": " + rc + " ok");
  const std::string type = dns_type_name(record);
  const size_t n = answers.size();
  if (static_cast<int64_t>(n) < min_answers) {
    r.fail_with(FailureReason::Answer, std::to_string(n) + " " + type + " answer" +
                                           (n == 1 ? "" : "s") + ", expected at least " +
                                           std::to_string(min_answers) + " (min_answers)" +
                                           (n == 0 ? "" : ": " + listed(answers)));
    note("min_answers " + std::to_string(min_answers) + ": " + std::to_string(n) + " FAIL");
  } else if (min_answers > 0) {
    note("min_answers " + std::to_string(min_answers) + ": " + std::to_string(n) + " ok");
  }
  const bool case_sensitive = record == kTypeTxt;
  for (const auto& want : answer_contains) {
    bool found = std::any_of(answers.begin(), answers.end(), [&](const DnsRecord* a) {
      return same_answer(want, a->text, case_sensitive);
    });
    if (!found) {
      r.fail_with(FailureReason::Answer,
                  "no " + type + " answer is \"" + want + "\" (found " + listed(answers) + ")");
    }
    note("answer_contains \"" + want + "\": " + (found ? "ok" : "FAIL"));
  }
  for (const auto& re : answer_regex) {
    bool found = std::any_of(answers.begin(), answers.end(),
                             [&](const DnsRecord* a) { return re.search(a->text); });
    if (!found) {
      r.fail_with(FailureReason::Answer, "no " + type + " answer matches \"" + re.pattern() +
                                             "\" (found " + listed(answers) + ")");
    }
    note("answer_regex \"" + re.pattern() + "\": " + (found ? "ok" : "FAIL"));
  }
}

base::Expected<std::string> parse_dns_server(std::string_view text) {
  std::string s(text);
  auto bad = [&](const std::string& why) {
    return base::unexpected("invalid DNS server \"" + s + "\": " + why);
  };
  std::string host = s, port = "53";
  bool v6 = false;
  if (!s.empty() && s.front() == '[') {  // [v6] or [v6]:port
    size_t close = s.find(']');
    if (close == std::string::npos) return bad("missing ']'");
    host = s.substr(1, close - 1);
    std::string rest = s.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return bad("expected ':PORT' after ']'");
      port = rest.substr(1);
    }
    v6 = true;
  } else if (std::count(s.begin(), s.end(), ':') == 1) {  // v4:port (a bare v6 has several)
    size_t colon = s.find(':');
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
  } else if (s.find(':') != std::string::npos) {
    v6 = true;
  }
  if (v6 ? !is_ipv6(host) : !is_ipv4(host)) {
    return bad("expected IP:PORT or [IPv6]:PORT (the server itself is not resolved)");
  }
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
      std::stoi(port) < 1 || std::stoi(port) > 65535) {
    return bad("port must be 1-65535");
  }
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(std::stoi(port));
}

std::optional<std::string> check_dns_target(std::string_view target) {
  std::string t(target);
  auto bad = [&](const std::string& why) { return "invalid DNS name \"" + t + "\": " + why; };
  if (t.empty()) return bad("empty");
  if (is_ipv4(t) || is_ipv6(t) || t == ".") return std::nullopt;
  std::string name = strip_dot(t);
  if (name.size() > 253) return bad("longer than 253 characters");
  size_t start = 0;
  while (start <= name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    size_t len = dot - start;
    if (len == 0) return bad("empty label");
    if (len > 63) return bad("label longer than 63 characters");
    start = dot + 1;
  }
  for (char c : name) {
    if (c <= ' ' || c > '~') return bad("only printable ASCII without spaces is allowed");
  }
  return std::nullopt;
}

std::string dns_query_name(std::string_view target, uint16_t record) {
  std::string t(target);
  if (record == kTypePtr && is_ipv4(t)) {
    in_addr a{};
    inet_pton(AF_INET, t.c_str(), &a);
    const auto* b = reinterpret_cast<const unsigned char*>(&a);
    return std::to_string(b[3]) + "." + std::to_string(b[2]) + "." + std::to_string(b[1]) + "." +
           std::to_string(b[0]) + ".in-addr.arpa.";
  }
  if (record == kTypePtr && is_ipv6(t)) {
    in6_addr a{};
    inet_pton(AF_INET6, t.c_str(), &a);
    std::string out;
    char buf[8];
    for (int i = 15; i >= 0; --i) {  // nibbles, least significant first
      std::snprintf(buf, sizeof buf, "%x.%x.", a.s6_addr[i] & 0x0f, a.s6_addr[i] >> 4);
      out += buf;
    }
    return out + "ip6.arpa.";
  }
  if (t.empty() || t.back() != '.') t += '.';
  return t;
}

std::shared_ptr<const config::ProbeSpec> parse_dns(config::TableReader& t) {
  auto s = std::make_shared<DnsSpec>();
  size_t before = t.diags().size();
  if (auto v = t.string("server")) {
    auto server = parse_dns_server(*v);
    if (!server)
      t.error_at("server", server.error());
    else
      s->server = *server;
  }
  if (auto v = t.string("record")) {
    auto type = dns_query_type(*v);
    if (!type) {
      t.error_at("record",
                 "unknown record type '" + *v + "' (one of " + dns_query_type_list() + ")");
    } else {
      s->record = *type;
    }
  }
  if (auto v = t.string("protocol")) {
    if (*v == "udp" || *v == "tcp")
      s->tcp = *v == "tcp";
    else
      t.error_at("protocol", "'protocol' must be \"udp\" or \"tcp\", not \"" + *v + "\"");
  }
  read_rcodes(t, *s);
  if (auto v = t.strings("answer_contains")) s->answer_contains = *v;
  read_regexes(t, *s);
  if (t.has("min_answers")) {
    if (auto v = t.integer("min_answers", 0, 65535)) s->min_answers = *v;
  } else {
    s->min_answers = s->valid_rcodes == std::vector<int>{0} ? 1 : 0;
  }
  if (auto v = t.boolean("recursion_desired")) s->recursion_desired = *v;
  t.finish();
  if (t.diags().size() != before) return nullptr;
  return s;
}

}  // namespace probed::probes
