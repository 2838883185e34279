// Inbound eviction (runtime/net/peer_eviction): which peers are protected, who is evicted, and that
// nobody is evicted when everyone is protected.
#include "runtime/net/peer_eviction.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <set>

using namespace qtc;
using namespace std::chrono_literals;

namespace {

using time_point = eviction_candidate::time_point;

/// `n` inbound peers in distinct groups, connected one second apart (id i at i seconds), with
/// distinct pings (id i: 100 + i ms) and group keys (id i: i), relaying transactions.
std::vector<eviction_candidate> peers(std::size_t n) {
  std::vector<eviction_candidate> out;
  for (std::size_t i = 1; i <= n; ++i) {
    eviction_candidate c;
    c.id = i;
    c.connected = time_point{} + std::chrono::seconds{i};
    c.min_ping_us = static_cast<std::int64_t>((100 + i) * 1000);
    c.group_key = i;
    c.group = {static_cast<std::uint8_t>(i)};
    out.push_back(c);
  }
  return out;
}

/// Which ids are evicted, one after the other (each victim removed before the next choice), in
/// at most `rounds` rounds or until everyone left is protected.
std::set<std::uint64_t> evictable(std::vector<eviction_candidate> c, int rounds = 1000) {
  std::set<std::uint64_t> out;
  while (rounds-- > 0) {
    auto victim = select_peer_to_evict(c);
    if (!victim)
      break;
    out.insert(*victim);
    c.erase(std::find_if(c.begin(), c.end(), [&](const auto& e) { return e.id == *victim; }));
  }
  return out;
}

} // namespace

TEST_SUITE("peer eviction") {
  TEST_CASE("with few inbound peers everyone is protected") {
    // 4 by group + 8 by ping + 4 by tx time + 4 by block time = 20, then half the rest.
    CHECK_FALSE(select_peer_to_evict(peers(20)));
    // One left over, half of one (none) protected by uptime: the newest of the rest goes.
    CHECK(select_peer_to_evict(peers(21)) == 17u);
    CHECK(select_peer_to_evict(peers(22)));
    CHECK_FALSE(select_peer_to_evict({}));
  }

  TEST_CASE("the newest member of the most crowded network group is evicted") {
    auto c = peers(40);
    // Peers 30..35 share a group: an attacker's subnet. Its newest member goes first.
    for (std::size_t i = 29; i < 35; ++i)
      c[i].group = {0xee};
    CHECK(select_peer_to_evict(c) == 35u);
  }

  TEST_CASE("fast, diverse, block- and tx-relaying and long-lived peers are never evicted") {
    auto c = peers(40);
    for (auto& e : c)
      e.group_key = 1000 - e.id; // the oldest have the highest keyed groups here
    // Among the newest (least protected by uptime) peers, give some a reason to be kept.
    c[39].min_ping_us = 1'000;               // id 40: the fastest
    c[38].group_key = UINT64_MAX;            // id 39: the highest keyed group
    c[37].last_block = time_point{} + 1000s; // id 38: delivered a block recently
    c[36].last_tx = time_point{} + 1000s;    // id 37: delivered a transaction recently
    c[35].relays_txs = false;                // id 36: block-relay-only with a block
    c[35].last_block = time_point{} + 900s;
    auto out = evictable(c);
    for (std::uint64_t kept : {40u, 39u, 38u, 37u, 36u})
      CHECK_MESSAGE(!out.contains(kept), "peer " << kept << " should be protected");
    CHECK(out.size() > 10);
  }

  TEST_CASE("an attacker's many connections cannot push out the honest peers") {
    // 20 honest peers connected first, each in its own group; then 100 attacker connections
    // from 2 groups, faster and with keyed groups that happen to be high.
    std::vector<eviction_candidate> c = peers(20);
    for (std::size_t i = 0; i < 100; ++i) {
      eviction_candidate a;
      a.id = 1000 + i;
      a.connected = time_point{} + 100s + std::chrono::seconds{i};
      a.min_ping_us = 1'000;
      a.group_key = 10'000 + (i % 2);
      a.group = {static_cast<std::uint8_t>(0xa0 + i % 2)};
      c.push_back(a);
    }
    // Evict until the pool is back to 40: every victim is the attacker's.
    for (int round = 0; round < 80; ++round) {
      auto victim = select_peer_to_evict(c);
      REQUIRE(victim);
      CHECK(*victim >= 1000u);
      c.erase(std::find_if(c.begin(), c.end(), [&](const auto& e) { return e.id == *victim; }));
    }
  }

  TEST_CASE("local peers are protected first by uptime") {
    // The same pool twice; the second time peers 27..36 are local (like Core's onion peers,
    // disadvantaged by latency). Some of them survive that plain uptime would not keep.
    auto plain = peers(40);
    auto with_local = plain;
    for (auto& e : with_local)
      e.local = e.id >= 27 && e.id <= 36;
    auto survivors = [](const std::set<std::uint64_t>& evicted) {
      std::size_t n = 0;
      for (std::uint64_t id = 27; id <= 36; ++id)
        n += evicted.contains(id) ? 0 : 1;
      return n;
    };
    // Ten newcomers arrive: ten evictions.
    auto kept_plain = survivors(evictable(plain, 10));
    auto kept_local = survivors(evictable(with_local, 10));
    CHECK(kept_local > kept_plain);
    // In the first round the newest peer is still the one to go: protection is not exemption.
    CHECK(select_peer_to_evict(with_local) == 36u);
  }

  TEST_CASE("a discouraged peer that survives the protections is evicted before any other") {
    auto c = peers(40);
    // Without it, 36 is the one to go (the newest not protected); a discouraged 35 goes first.
    CHECK(select_peer_to_evict(c) == 36u);
    c[34].discouraged = true;
    CHECK(select_peer_to_evict(c) == 35u);
    // A discouraged peer that is protected (the fastest ping) stays protected.
    auto d = peers(40);
    d[0].discouraged = true; // id 1: best ping, oldest
    CHECK(select_peer_to_evict(d) != 1u);
  }
}
