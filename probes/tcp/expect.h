// Expect matching apart from the socket: what a tcp conversation's `expect` step decides about
// the bytes received so far, and how received bytes appear in messages and traces. Kept out of
// TcpConnection so it can be driven with arbitrary bytes (tests/fuzz/fuzz_tcp_expect.cpp)
// without a server. Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "probes/assertions/regex.h"

namespace probed::probes {

enum class ExpectVerdict { Matched, NeedMore, CapReached };

// Appends `chunk` to `in` (everything received since the step began) and decides: the regex
// matches somewhere in `in`, or more may be read, or `cap` bytes have arrived without a match.
// The whole of `in` is searched each time: a match may span chunks.
ExpectVerdict expect_feed(std::string& in, std::string_view chunk, const Regex& re, size_t cap);
// The error of a CapReached verdict.
std::string expect_cap_error(size_t cap);

// Received bytes for messages and traces: \r and \n spelled out, every other byte outside
// printable ASCII as '.', at most `max` bytes shown (then "..."). The result is printable
// ASCII, so a server cannot put control characters or broken UTF-8 into logs or metrics.
std::string printable(std::string_view s, size_t max = 80);
// The message of a failed expect step: `expected /re/: <error> (got "<bytes>")`.
std::string expect_failure(std::string_view pattern, std::string_view error, std::string_view got);

}  // namespace probed::probes
