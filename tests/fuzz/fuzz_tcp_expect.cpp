// libFuzzer: a tcp conversation's expect step over arbitrary received bytes, split into
// arbitrary chunks as recv() might deliver them, and the failure message built from them.
// Input: [pattern selector][cap selector][chunk size][received bytes...]; selector 0xff takes
// the pattern from the input up to the first '\n' (user patterns are arbitrary too).
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "probes/tcp/expect.h"

namespace {

using probed::probes::ExpectVerdict;
using probed::probes::Regex;

// The STARTTLS exchanges' patterns and typical user expects (banners, multi-line replies).
constexpr std::array<const char*, 10> kPatterns = {
    "(?m)^220 ", "(?m)^\\* OK", "^\\+OK", "(?m)^234 ", "^S", "^SSH-2\\.0-",
    "(?m)^250 [^\\r\\n]*\\r?\\n", "PONG", "[\\s\\S]", "(?s)^HTTP/1\\.[01] (\\d{3}).*\\r\\n\\r\\n"};
constexpr std::array<size_t, 4> kCaps = {1, 16, 1024, 64 * 1024};
// Every subject is searched once per chunk: bound the work per input.
constexpr size_t kMaxReceived = 8192;

bool is_printable_ascii(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

const Regex& fixed_pattern(size_t i) {
  static const auto compiled = [] {
    std::array<Regex, kPatterns.size()> out;
    for (size_t k = 0; k < kPatterns.size(); ++k) out[k] = *Regex::compile(kPatterns[k]);
    return out;
  }();
  return compiled[i % compiled.size()];
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data) + 3, size - 3);
  const size_t cap = kCaps[data[1] % kCaps.size()];
  const size_t chunk = 1 + data[2] % 64;
  Regex user;
  const Regex* re = &fixed_pattern(data[0]);
  if (data[0] == 0xff) {
    size_t nl = rest.find('\n');
    if (nl == std::string_view::npos) return 0;
    auto compiled = Regex::compile(rest.substr(0, nl));
    if (!compiled) return 0;
    user = std::move(*compiled);
    re = &user;
    rest.remove_prefix(nl + 1);
  }
  rest = rest.substr(0, kMaxReceived);
  // A step decides only once bytes have arrived (read_until reads before its first search).
  if (rest.empty()) return 0;

  std::string in;
  ExpectVerdict v = ExpectVerdict::NeedMore;
  while (!rest.empty() && v == ExpectVerdict::NeedMore) {
    v = probed::probes::expect_feed(in, rest.substr(0, chunk), *re, cap);
    rest.remove_prefix(std::min(chunk, rest.size()));
  }
  // The verdict agrees with the bytes it saw: a match is really there, the cap is really
  // reached, and waiting for more only happens below the cap without a match.
  const bool found = re->search(in);
  if (v == ExpectVerdict::Matched && !found) __builtin_trap();
  if (v != ExpectVerdict::Matched && found) __builtin_trap();
  if (v == ExpectVerdict::CapReached && in.size() < cap) __builtin_trap();
  if (v == ExpectVerdict::NeedMore && in.size() >= cap) __builtin_trap();

  // Whatever arrived, the message is printable ASCII and bounded.
  std::string shown = probed::probes::printable(in);
  if (!is_printable_ascii(shown) || shown.size() > 2 * 80 + 3) __builtin_trap();
  std::string msg = probed::probes::expect_failure(re->pattern(), probed::probes::expect_cap_error(cap), in);
  if (!is_printable_ascii(msg)) __builtin_trap();
  return 0;
}
