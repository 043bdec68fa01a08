#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <vector>

#include "daemon/io/loop.h"

using namespace probed;

TEST_CASE("loop: rewatch changes an fd's interest and keeps its callback", "[unit][loop]") {
  auto loop = io::Loop::create();
  REQUIRE(loop);
  int sv[2];
  REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0);
  std::vector<uint32_t> seen;
  REQUIRE((*loop)->watch(sv[0], io::Interest::Write, [&](uint32_t ev) { seen.push_back(ev); }));
  // Writable at once: the callback sees it.
  REQUIRE((*loop)->run_until([&] { return !seen.empty(); }, std::chrono::seconds(2)));
  CHECK((seen.back() & io::kWritable) != 0);
  // Read interest only: nothing to read, so no call, although the socket is still writable.
  REQUIRE((*loop)->rewatch(sv[0], io::Interest::Read));
  seen.clear();
  (*loop)->run_until([] { return false; }, std::chrono::milliseconds(50));
  CHECK(seen.empty());
  // Data arrives: the same callback sees it as readable.
  REQUIRE(write(sv[1], "x", 1) == 1);
  REQUIRE((*loop)->run_until([&] { return !seen.empty(); }, std::chrono::seconds(2)));
  CHECK(seen.back() == io::kReadable);
  CHECK((*loop)->watched_fds() == 1);
  // An fd that is not watched is an error, not a silent watch without a callback.
  CHECK_FALSE((*loop)->rewatch(sv[1], io::Interest::Read));
  (*loop)->unwatch(sv[0]);
  close(sv[0]);
  close(sv[1]);
}
