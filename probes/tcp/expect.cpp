#include "probes/tcp/expect.h"

namespace probed::probes {

ExpectVerdict expect_feed(std::string& in, std::string_view chunk, const Regex& re, size_t cap) {
  in.append(chunk);
  if (re.search(in)) return ExpectVerdict::Matched;
  return in.size() >= cap ? ExpectVerdict::CapReached : ExpectVerdict::NeedMore;
}

std::string expect_cap_error(size_t cap) {
  return "no match in the first " + std::to_string(cap) + " bytes";
}

std::string printable(std::string_view s, size_t max) {
  std::string out;
  for (char c : s.substr(0, max)) {
    if (c == '\r') out += "\\r";
    else if (c == '\n') out += "\\n";
    else if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) out += '.';
    else out += c;
  }
  if (s.size() > max) out += "...";
  return out;
}

std::string expect_failure(std::string_view pattern, std::string_view error, std::string_view got) {
  // The pattern comes from the config, but may hold any byte a TOML string can: show it the
  // same way as received bytes, without the length limit.
  std::string out = "expected /" + printable(pattern, pattern.size()) + "/: " + std::string(error);
  if (!got.empty()) out += " (got \"" + printable(got) + "\")";
  return out;
}

}  // namespace probed::probes
