// The address manager: keyed new/tried tables, terrible entries, selection, getaddr samples,
// eclipse resistance under a flood from few groups, and its stored form.
#include "runtime/net/address_manager.hpp"

#include <doctest/doctest.h>

using namespace qtc;

namespace {

constexpr std::int64_t now = 1'800'000'000;

address_manager::secret key(std::uint8_t b) {
  address_manager::secret k{};
  k.fill(b);
  return k;
}

discovered_peer peer(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d,
                     std::uint16_t port = 8333) {
  discovered_peer p;
  p.ip = ipv4(a, b, c, d);
  p.port = port;
  p.source = "test";
  return p;
}

} // namespace

TEST_CASE("address manager: adds once, validates, and promotes to tried on success") {
  address_manager am{key(1), false, 7};
  auto src = ipv4(9, 9, 9, 9);
  CHECK(am.add({peer(1, 2, 3, 4), peer(1, 2, 3, 4), peer(5, 6, 7, 8)}, src, now) == 2);
  CHECK(am.add({peer(1, 2, 3, 4)}, src, now) == 0);
  // Unroutable addresses never enter a mainnet-like table.
  CHECK(am.add({peer(127, 0, 0, 1), peer(192, 0, 2, 1), peer(10, 0, 0, 1)}, src, now) == 0);
  CHECK(am.size() == 2);
  CHECK(am.new_count() == 2);
  am.good(ipv4(1, 2, 3, 4), 8333, now);
  CHECK(am.tried_count() == 1);
  CHECK(am.new_count() == 1);
  auto e = am.find(ipv4(1, 2, 3, 4), 8333);
  REQUIRE(e);
  CHECK(e->tried);
  CHECK(e->last_success == now);
}

TEST_CASE("address manager: terrible addresses per Bitcoin Core's rules") {
  address_manager::entry e;
  e.last_seen = now;
  CHECK_FALSE(address_manager::terrible(e, now));
  e.last_seen = now - 31 * 86400;
  CHECK(address_manager::terrible(e, now));
  e.last_seen = now + 3600;
  CHECK(address_manager::terrible(e, now));
  e.last_seen = now;
  e.attempts = 3;
  CHECK(address_manager::terrible(e, now)); // never succeeded, three failures
  e.last_try = now - 30;
  CHECK_FALSE(address_manager::terrible(e, now)); // tried a moment ago: give it time
}

TEST_CASE("address manager: select skips used groups and backs off failures") {
  address_manager am{key(2), false, 11};
  am.add({peer(1, 2, 3, 4), peer(1, 2, 9, 9), peer(7, 7, 7, 7)}, ipv4(9, 9, 9, 9), now);
  std::set<std::vector<std::uint8_t>> used{network_group(ipv4(1, 2, 0, 0), false)};
  for (int i = 0; i < 50; ++i) {
    auto p = am.select(used, now);
    REQUIRE(p);
    CHECK(p->ip == ipv4(7, 7, 7, 7)); // the only one outside the used /16
  }
  am.attempt(ipv4(7, 7, 7, 7), 8333, true, now);
  CHECK_FALSE(am.select(used, now + 30)); // tried 30 s ago
  CHECK(am.select(used, now + 61));       // backoff after one failure: 2 s, and 60 s passed
}

TEST_CASE("address manager: an address just connected to may be chosen again at once") {
  // A node restarted seconds after it connected to its peers reconnects at once; an attempt
  // still under way (or given up without success) keeps the address out for a minute.
  address_manager am{key(2), false, 11};
  am.add({peer(7, 7, 7, 7)}, ipv4(9, 9, 9, 9), now);
  am.attempt(ipv4(7, 7, 7, 7), 8333, false, now);
  CHECK_FALSE(am.select({}, now + 5)); // connecting
  am.good(ipv4(7, 7, 7, 7), 8333, now + 1);
  CHECK(am.select({}, now + 5)); // connected: a restart may dial it again
  am.attempt(ipv4(7, 7, 7, 7), 8333, false, now + 10);
  CHECK_FALSE(am.select({}, now + 20)); // e.g. replaced as a poor peer: not again at once
}

TEST_CASE("address manager: getaddr samples are capped and exclude terrible entries") {
  address_manager am{key(3), false, 5};
  std::vector<discovered_peer> many;
  for (int a = 1; a <= 100; ++a)
    for (int b = 0; b < 50; ++b)
      many.push_back(peer(static_cast<std::uint8_t>(a), static_cast<std::uint8_t>(b), 1, 1));
  for (int s = 0; s < 100; ++s)
    am.add(many, ipv4(static_cast<std::uint8_t>(s + 100), 1, 1, 1), now);
  REQUIRE(am.size() > 4000);
  auto sample = am.sample(1000, 23, now);
  CHECK(sample.size() == 1000);
  auto small = am.sample(1000, 1, now);
  CHECK(small.size() == (am.size() + 99) / 100);
  // A month later nothing has been heard of them again: all terrible, nothing to share.
  CHECK(am.sample(1000, 23, now + 31 * 86400).empty());
}

TEST_CASE("address manager: a flood from few groups stays in few buckets (eclipse resistance)") {
  address_manager am{key(4), false, 99};
  // Honest addresses first: 1000 /16 groups, told by 200 different source groups.
  std::vector<discovered_peer> honest;
  for (int i = 0; i < 1000; ++i) {
    auto p =
        peer(static_cast<std::uint8_t>(1 + i % 200), static_cast<std::uint8_t>(i / 200 + 10), 7, 7);
    honest.push_back(p);
    am.add({p}, ipv4(static_cast<std::uint8_t>(1 + i % 200), 200, 0, 1), now);
  }
  auto honest_before = am.size();
  CHECK(honest_before >= 950);
  // The attacker: 20,000 addresses in 5 /16 groups, reported by 3 source groups.
  std::vector<discovered_peer> flood;
  for (int g = 0; g < 5; ++g)
    for (int i = 0; i < 4000; ++i)
      flood.push_back(peer(44, static_cast<std::uint8_t>(g), static_cast<std::uint8_t>(i / 250),
                           static_cast<std::uint8_t>(i % 250)));
  for (int s = 0; s < 3; ++s)
    am.add(flood, ipv4(45, static_cast<std::uint8_t>(s), 0, 1), now);
  std::size_t attacker = 0;
  std::set<std::uint32_t> attacker_buckets;
  std::size_t honest_left = 0;
  for (const auto& p : honest)
    honest_left += am.find(p.ip, p.port) != nullptr ? 1 : 0;
  for (const auto& p : flood)
    if (auto e = am.find(p.ip, p.port)) {
      ++attacker;
      attacker_buckets.insert(e->bucket);
    }
  // Each source group reaches at most 64 of the 1024 new buckets.
  CHECK(attacker_buckets.size() <= 3 * address_manager::new_buckets_per_source_group);
  CHECK(attacker
        <= 3 * address_manager::new_buckets_per_source_group * address_manager::bucket_size);
  // Fresh honest entries are never evicted by newcomers (only terrible ones give way).
  CHECK(honest_left == honest_before);
  // Honest addresses arriving after the flood still find room.
  std::size_t placed = 0;
  for (int i = 0; i < 1000; ++i) {
    auto p = peer(static_cast<std::uint8_t>(1 + i % 200), static_cast<std::uint8_t>(i / 200 + 100),
                  8, 8);
    placed += am.add({p}, ipv4(static_cast<std::uint8_t>(1 + i % 200), 201, 0, 1), now);
  }
  CHECK(placed >= 800);
  MESSAGE("attacker holds " << attacker << " entries in " << attacker_buckets.size()
                            << " buckets; honest placed after the flood: " << placed << "/1000");
}

TEST_CASE("address manager: placement depends on the secret key") {
  address_manager a{key(5), false, 1}, b{key(6), false, 1};
  auto p = peer(23, 4, 5, 6);
  a.add({p}, ipv4(8, 8, 8, 8), now);
  b.add({p}, ipv4(8, 8, 8, 8), now);
  int different = 0;
  for (int i = 0; i < 20; ++i) {
    auto q = peer(23, static_cast<std::uint8_t>(i), 5, 6);
    a.add({q}, ipv4(8, 8, 8, 8), now);
    b.add({q}, ipv4(8, 8, 8, 8), now);
    different += a.find(q.ip, q.port)->position != b.find(q.ip, q.port)->position ? 1 : 0;
  }
  CHECK(different >= 15);
}

TEST_CASE("address manager: the stored form round-trips and garbage is refused") {
  address_manager am{key(7), false, 3};
  auto p = peer(31, 2, 3, 4);
  p.pubkey_hex = std::string(64, 'a');
  p.tls_only = true;
  am.add({p, peer(32, 2, 3, 4), peer(33, 2, 3, 4)}, ipv4(9, 9, 9, 9), now);
  am.good(ipv4(32, 2, 3, 4), 8333, now);
  am.attempt(ipv4(33, 2, 3, 4), 8333, true, now);
  auto blob = am.serialize();
  std::string error;
  auto back = address_manager::deserialize(blob, false, 3, error);
  REQUIRE_MESSAGE(back, error);
  CHECK(back->size() == 3);
  CHECK(back->tried_count() == 1);
  auto e = back->find(ipv4(31, 2, 3, 4), 8333);
  REQUIRE(e);
  CHECK(e->peer.pubkey_hex == p.pubkey_hex);
  CHECK(e->peer.tls_only);
  CHECK(e->bucket == am.find(ipv4(31, 2, 3, 4), 8333)->bucket);
  CHECK(back->find(ipv4(33, 2, 3, 4), 8333)->attempts == 1);
  CHECK(back->serialize() == blob);
  // Truncated, wrong version, a lying count: errors, not crashes or huge allocations.
  auto truncated = blob;
  truncated.resize(blob.size() - 3);
  CHECK_FALSE(address_manager::deserialize(truncated, false, 3, error));
  CHECK(error.find("peer table") == 0);
  auto wrong = blob;
  wrong[0] = 9;
  CHECK_FALSE(address_manager::deserialize(wrong, false, 3, error));
  CHECK(error == "peer table: unknown format version 9");
  bytes lying(1 + 32, 0);
  lying[0] = 1;
  lying.insert(lying.end(), {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff});
  CHECK_FALSE(address_manager::deserialize(lying, false, 3, error));
}
