// Per-address rate budgets (runtime/net/rate_budget): shared by an address's connections,
// granted in chunks, with exact retry times, sustained-throttling signal, exemption and bounds.
#include "runtime/net/rate_budget.hpp"

#include <doctest/doctest.h>

using namespace qtc;
using namespace std::chrono_literals;

namespace {

using time_point = rate_budget::time_point;

TEST_SUITE_BEGIN("security");

const time_point t0{1h}; // a whole second, so that second boundaries are easy to reason about

constexpr std::uint32_t chunk = rate_budget::default_chunk_messages;
constexpr std::uint64_t chunk_bytes = rate_budget::default_chunk_bytes;

/// Takes an address's whole message budget at `now` (100 messages, no bytes).
void drain_messages(rate_budget& b, const ip_bytes& ip, time_point now) {
  auto g = b.request(ip, 100, 0, now);
  REQUIRE(g.messages == 100);
  REQUIRE_FALSE(g.retry_at);
}

} // namespace

TEST_CASE("rate budget: an address's connections share its 100 messages a minute") {
  rate_budget b;
  auto a = ipv4(203, 0, 113, 7);
  auto other = ipv4(203, 0, 113, 8);
  // Two sessions of `a` take turns asking for chunks: together they get 100, not 200.
  std::uint32_t first = 0, second = 0;
  for (int round = 0; round < 20; ++round) {
    first += b.request(a, chunk, 0, t0).messages;
    second += b.request(a, chunk, 0, t0).messages;
  }
  CHECK(first + second == 100);
  CHECK(first == 50);
  auto g = b.request(a, chunk, 0, t0);
  CHECK(g.messages == 0);
  CHECK(g.retry_at);
  // The neighbour has its own full budget.
  auto n = b.request(other, 100, 0, t0);
  CHECK(n.messages == 100);
  CHECK_FALSE(n.retry_at);
}

TEST_CASE("rate budget: grants are chunks, or what the buckets hold and when the rest will") {
  rate_budget b;
  auto a = ipv4(203, 0, 113, 7);
  auto g = b.request(a, chunk, chunk_bytes, t0);
  CHECK(g == rate_budget::grant{10, 64 * 1024, std::nullopt, false});
  CHECK(b.request(a, 85, 0, t0).messages == 85); // 5 left
  g = b.request(a, chunk, chunk_bytes, t0);
  CHECK(g.messages == 5); // partial: what there is
  CHECK(g.bytes == chunk_bytes);
  REQUIRE(g.retry_at);
  CHECK(*g.retry_at == t0 + 3s); // the missing 5 at 100/60 per second
  // Asking for nothing is granted nothing and creates no state.
  auto c = ipv4(203, 0, 113, 9);
  CHECK(b.request(c, 0, 0, t0) == rate_budget::grant{});
  CHECK_FALSE(b.tracked(c));
}

TEST_CASE("rate budget: retry_at is the exact moment the request can be granted in full") {
  rate_budget b;
  auto a = ipv4(203, 0, 113, 7);
  drain_messages(b, a, t0);
  auto g = b.request(a, chunk, 0, t0);
  CHECK(g.messages == 0);
  REQUIRE(g.retry_at);
  CHECK(*g.retry_at == t0 + 6s); // 10 messages at 100 per minute
  auto early = b;
  CHECK(early.request(a, chunk, 0, *g.retry_at - 1ns).messages < chunk);
  auto on_time = b.request(a, chunk, 0, *g.retry_at);
  CHECK(on_time.messages == chunk);
  CHECK_FALSE(on_time.retry_at);
}

TEST_CASE("rate budget: buckets refill at the budget's rate up to one minute's worth") {
  rate_budget b;
  auto a = ipv4(203, 0, 113, 7);
  drain_messages(b, a, t0);
  auto half = b;
  CHECK(half.request(a, 100, 0, t0 + 30s).messages == 50);
  auto full = b;
  CHECK(full.request(a, 100, 0, t0 + 60s).messages == 100);
  // An address idle for an hour has one minute's budget, not sixty.
  auto g = b.request(a, 1000, 0, t0 + 1h);
  CHECK(g.messages == 100);
  REQUIRE(g.retry_at);
  CHECK(*g.retry_at == t0 + 1h + 60s); // the rest capped at a minute's budget
}

TEST_CASE("rate budget: 1,000,000 bytes a minute, and a message needs both budgets") {
  rate_budget b;
  auto a = ipv4(203, 0, 113, 7);
  std::uint64_t bytes = 0;
  for (int i = 0; i < 15; ++i)
    bytes += b.request(a, 0, chunk_bytes, t0).bytes;
  CHECK(bytes == 15 * chunk_bytes);
  auto g = b.request(a, 0, chunk_bytes, t0);
  CHECK(g.bytes == 1'000'000 - 15 * chunk_bytes); // the last 16,960
  REQUIRE(g.retry_at);
  // With no bytes left, messages are not granted either (and not taken from their bucket).
  g = b.request(a, chunk, chunk_bytes, t0);
  CHECK(g.messages == 0);
  CHECK(g.bytes == 0);
  REQUIRE(g.retry_at);
  auto early = b;
  CHECK(early.request(a, chunk, chunk_bytes, *g.retry_at - 1ns).bytes < chunk_bytes);
  CHECK(*g.retry_at - t0 > 3932159us); // 65,536 bytes at 1e6/60 per second: 3.93216 s
  CHECK(*g.retry_at - t0 <= 3932161us);
  auto later = b.request(a, chunk, chunk_bytes, *g.retry_at);
  CHECK(later.messages == chunk);
  CHECK(later.bytes == chunk_bytes);
}

TEST_CASE("rate budget: sustained after 30 s throttled within a minute, and not before") {
  rate_budget b;
  auto a = ipv4(203, 0, 113, 7);
  auto burst = ipv4(203, 0, 113, 8);
  drain_messages(b, a, t0);
  // A peer that always wants more: its session asks again as soon as it may.
  time_point now = t0;
  std::optional<time_point> first_sustained;
  while (now < t0 + 40s) {
    auto g = b.request(a, 1, 0, now);
    if (g.sustained && !first_sustained)
      first_sustained = now;
    if (now < t0 + 30s)
      CHECK_FALSE(g.sustained);
    if (g.retry_at)
      now = *g.retry_at;
  }
  REQUIRE(first_sustained);
  // Counted in whole seconds that have ended: the 31st throttled second ends at t0 + 31 s.
  CHECK(*first_sustained >= t0 + 31s);
  CHECK(*first_sustained < t0 + 32s);
  CHECK(b.over_budget_for(a, 30s, now));
  CHECK(b.throttled_for(a, now) >= 39s);
  // Once it stops, the minute forgets it.
  CHECK_FALSE(b.request(a, 1, 0, now + 61s).sustained);
  CHECK(b.throttled_for(a, now + 61s) == 0s);
  // A peer that bursts once in a while is short a few seconds a minute, never sustained.
  for (int minute = 0; minute < 5; ++minute) {
    auto start = t0 + std::chrono::minutes{minute};
    drain_messages(b, burst, start);
    auto g = b.request(burst, chunk, 0, start);
    CHECK(g.retry_at);
    CHECK_FALSE(g.sustained);
  }
  CHECK(b.throttled_for(burst, t0 + 5min) == 6s);
}

TEST_CASE("rate budget: an address with noban is granted everything and not tracked") {
  rate_budget b;
  auto a = ipv4(203, 0, 113, 7);
  peer_permissions noban;
  noban.noban = true;
  for (int i = 0; i < 1000; ++i) {
    auto g = b.request(a, 1000, 10'000'000, t0, noban);
    CHECK(g == rate_budget::grant{1000, 10'000'000, std::nullopt, false});
  }
  CHECK_FALSE(b.tracked(a));
  CHECK(b.stats(t0).refused == 0);
  // Permissions come with each request: without them the same address is limited.
  CHECK(b.request(a, 1000, 0, t0).messages == 100);
}

TEST_CASE("rate budget: 100,000 addresses keep the table at 65,536, throttled ones kept") {
  rate_budget b;
  auto idle = ipv4(198, 51, 100, 1);
  auto abuser = ipv4(203, 0, 113, 7);
  b.request(idle, 1, 0, t0 - 10min); // long idle: full again, nothing to remember
  drain_messages(b, abuser, t0);
  auto refused = b.request(abuser, chunk, 0, t0);
  REQUIRE(refused.retry_at == t0 + 6s);
  for (std::uint32_t i = 0; i < 100'000; ++i) {
    auto ip = ipv4(10, static_cast<std::uint8_t>(i >> 16), static_cast<std::uint8_t>(i >> 8),
                   static_cast<std::uint8_t>(i));
    CHECK(b.request(ip, chunk, chunk_bytes, t0 + 1s).messages == chunk);
  }
  auto s = b.stats(t0 + 1s);
  CHECK(s.tracked == 65'536);
  CHECK(s.throttled == 1);
  // Guaranteed: an address throttled now is forgotten only when every tracked one is; the
  // rest go least recently active first, after those equal to fresh ones.
  CHECK(b.tracked(abuser));
  CHECK_FALSE(b.tracked(idle));
  CHECK_FALSE(b.tracked(ipv4(10, 0, 0, 0))); // the oldest of the flood
  CHECK(b.tracked(ipv4(10, 1, 0x86, 0x9f))); // the newest (99,999)
  // Still on its own drained budget (one message refilled since), not a fresh one.
  CHECK(b.request(abuser, chunk, 0, t0 + 1s).messages == 1);
}

TEST_CASE("rate budget: prune drops what equals a fresh entry, and nothing else") {
  rate_budget b;
  auto quiet = ipv4(203, 0, 113, 1);
  auto throttled = ipv4(203, 0, 113, 2);
  b.request(quiet, chunk, chunk_bytes, t0);
  drain_messages(b, throttled, t0);
  CHECK(b.request(throttled, chunk, 0, t0).retry_at == t0 + 6s); // throttled seconds 0..5
  CHECK(b.prune(t0 + 3s) == 0); // `quiet` has 95 of its 100 messages back
  auto s = b.stats(t0 + 3s);
  CHECK(s.tracked == 2);
  CHECK(s.throttled == 1);
  CHECK(b.prune(t0 + 6s) == 1); // full again: equal to a fresh entry
  CHECK_FALSE(b.tracked(quiet));
  // `throttled` is full at t0 + 60 s, but its throttled seconds count for a minute more.
  CHECK(b.prune(t0 + 60s) == 0);
  CHECK(b.throttled_for(throttled, t0 + 65s) == 1s);
  CHECK(b.prune(t0 + 65s) == 0);
  CHECK(b.prune(t0 + 66s) == 1);
  s = b.stats(t0 + 66s);
  CHECK(s.tracked == 0);
  CHECK(s.throttled == 0);
  CHECK(s.refused == 1);
  // A dropped address starts again with a full budget: the same answer as before.
  CHECK(b.request(throttled, 100, 0, t0 + 66s).messages == 100);
}

TEST_SUITE_END();
