#include <catch2/catch.hpp>

#include <set>

#include "daemon/scheduler.h"

using namespace probed;
using namespace std::chrono_literals;

TEST_CASE("scheduler: first runs spread evenly over the interval", "[unit][scheduler]") {
  // 10,000 targets in a 10 s interval: every 100 ms bucket should get about 100 first runs.
  const auto interval = std::chrono::duration_cast<base::Duration>(10s);
  std::vector<int> buckets(100, 0);
  for (int i = 0; i < 10000; ++i) {
    auto off = daemon::first_run_offset({"check-" + std::to_string(i % 37), "http://t/" + std::to_string(i)}, interval);
    REQUIRE(off >= base::Duration::zero());
    REQUIRE(off < interval);
    ++buckets[static_cast<size_t>(off / 100ms)];
  }
  int lo = *std::min_element(buckets.begin(), buckets.end());
  int hi = *std::max_element(buckets.begin(), buckets.end());
  CHECK(lo >= 60);
  CHECK(hi <= 140);
}

TEST_CASE("scheduler: offsets are deterministic across processes", "[unit][scheduler]") {
  // FNV-1a is fixed, so a restart keeps each slot's phase.
  CHECK(daemon::stable_hash("") == 0xcbf29ce484222325ull);
  CHECK(daemon::stable_hash("a") == 0xaf63dc4c8601ec8cull);
  auto a = daemon::first_run_offset({"api", "http://x/"}, 30s);
  auto b = daemon::first_run_offset({"api", "http://x/"}, 30s);
  CHECK(a == b);
}

TEST_CASE("scheduler: shards split checks without overlap", "[unit][scheduler]") {
  std::set<int> owners;
  int counts[3] = {0, 0, 0};
  for (int i = 0; i < 3000; ++i) {
    std::string name = "check-" + std::to_string(i);
    int owner = -1;
    for (uint32_t s = 0; s < 3; ++s) {
      if (daemon::in_shard(name, s, 3)) {
        CHECK(owner == -1);
        owner = static_cast<int>(s);
      }
    }
    REQUIRE(owner >= 0);
    ++counts[owner];
  }
  for (int c : counts) CHECK(c > 800);
  CHECK(daemon::in_shard("anything", 0, 1));
}
