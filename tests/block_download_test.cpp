// The block download scheduler in explicit time: window and per-peer limits, in-order commits,
// re-requests after disconnect, notfound and invalid blocks, stall and timeout detection, reorgs.
#include "runtime/block_download.hpp"

#include <doctest/doctest.h>

#include <random>
#include <set>

using namespace qtc;
using namespace std::chrono_literals;

namespace {

using time_point = block_download::time_point;

hash256 hash_of(std::uint32_t height, std::uint8_t fork = 0) {
  hash256 h{};
  h[0] = static_cast<std::uint8_t>(height);
  h[1] = static_cast<std::uint8_t>(height >> 8);
  h[2] = static_cast<std::uint8_t>(height >> 16);
  h[3] = fork;
  return h;
}

std::vector<hash256> chain(std::uint32_t first, std::uint32_t last, std::uint8_t fork = 0) {
  std::vector<hash256> out;
  for (auto h = first; h <= last; ++h)
    out.push_back(hash_of(h, fork));
  return out;
}

/// A block whose only distinguishing mark is its height in the header's nonce.
block block_at(std::uint32_t height) {
  block b;
  b.header.nonce = height;
  return b;
}

std::uint32_t height_in(const hash256& h) {
  return h[0] | (h[1] << 8) | (h[2] << 16);
}

block_download::config small(std::uint32_t window = 8, std::uint32_t per_peer = 3) {
  block_download::config c;
  c.window = window;
  c.per_peer = per_peer;
  return c;
}

} // namespace

TEST_CASE("block download: window and per-peer limits, lowest heights first") {
  block_download d{small(8, 3)};
  time_point t{1h};
  d.set_target(1, chain(1, 100));
  d.set_peer(1, 100);
  d.set_peer(2, 100);
  d.set_peer(3, 100);
  auto a = d.assign(1, t);
  auto b = d.assign(2, t);
  auto c = d.assign(3, t);
  REQUIRE(a.size() == 3);
  CHECK(height_in(a[0]) == 1);
  CHECK(height_in(a[2]) == 3);
  REQUIRE(b.size() == 3);
  CHECK(height_in(b[0]) == 4);
  // The window (8 heights from 1) leaves peer 3 only heights 7 and 8.
  REQUIRE(c.size() == 2);
  CHECK(height_in(c[1]) == 8);
  CHECK(d.in_flight() == 8);
  CHECK(d.assign(1, t).empty()); // its slots are full
}

TEST_CASE("block download: a peer is not asked above its height") {
  block_download d{small(16, 8)};
  time_point t{1h};
  d.set_target(1, chain(1, 20));
  d.set_peer(1, 2);
  auto a = d.assign(1, t);
  REQUIRE(a.size() == 2);
  d.set_peer(1, 5);
  auto more = d.assign(1, t);
  REQUIRE(more.size() == 3);
  CHECK(height_in(more[0]) == 3);
}

TEST_CASE("block download: out-of-order arrivals are committed in height order") {
  block_download d{small(8, 4)};
  time_point t{1h};
  d.set_target(1, chain(1, 4));
  d.set_peer(7, 4);
  auto a = d.assign(7, t);
  REQUIRE(a.size() == 4);
  CHECK(d.received(7, a[2], block_at(3), t) == block_download::arrival::expected);
  CHECK(d.received(7, a[1], block_at(2), t) == block_download::arrival::expected);
  CHECK_FALSE(d.take_next()); // height 1 is still missing
  CHECK(d.buffered() == 2);
  CHECK(d.received(7, a[0], block_at(1), t) == block_download::arrival::expected);
  for (std::uint32_t h = 1; h <= 3; ++h) {
    auto r = d.take_next();
    REQUIRE(r);
    CHECK(r->height == h);
    CHECK(r->block.header.nonce == h);
    CHECK(r->from == 7);
  }
  CHECK_FALSE(d.take_next());
  CHECK(d.received(7, a[2], block_at(3), t) == block_download::arrival::duplicate);
  CHECK(d.received(8, a[3], block_at(4), t) == block_download::arrival::unrequested);
  CHECK(d.received(7, hash_of(999), block_at(999), t) == block_download::arrival::unrequested);
  CHECK(d.delivered(7) == 3);
}

TEST_CASE("block download: a disconnected peer's requests go to another peer") {
  block_download d{small(8, 3)};
  time_point t{1h};
  d.set_target(1, chain(1, 10));
  d.set_peer(1, 10);
  auto a = d.assign(1, t);
  REQUIRE(a.size() == 3);
  d.set_peer(2, 10);
  d.remove_peer(1);
  auto b = d.assign(2, t);
  REQUIRE(b.size() == 3);
  CHECK(b == a);
  CHECK(d.received(1, a[0], block_at(1), t) == block_download::arrival::unrequested);
}

TEST_CASE("block download: notfound and invalid blocks are requested elsewhere") {
  block_download d{small(8, 1)};
  time_point t{1h};
  d.set_target(1, chain(1, 3));
  d.set_peer(1, 3);
  d.set_peer(2, 3);
  auto a = d.assign(1, t);
  REQUIRE(a.size() == 1);
  d.not_found(1, a[0]);
  // Peer 1 is never asked for height 1 again; it gets height 2 instead.
  auto again = d.assign(1, t);
  REQUIRE(again.size() == 1);
  CHECK(height_in(again[0]) == 2);
  auto b = d.assign(2, t);
  REQUIRE(b.size() == 1);
  CHECK(height_in(b[0]) == 1);
  CHECK(d.received(2, b[0], block_at(1), t) == block_download::arrival::expected);
  auto r = d.take_next();
  REQUIRE(r);
  // Height 1 turns out invalid: back to the queue, not from peer 2.
  d.rejected(r->height, r->from);
  CHECK(d.next_height() == 1);
  CHECK(d.assign(2, t).size() == 1); // peer 2 gets height 3, not 1
  CHECK(d.received(1, again[0], block_at(2), t) == block_download::arrival::expected);
  CHECK(d.assign(1, t).empty()); // peer 1 said notfound for height 1
  d.set_peer(3, 3);
  auto c = d.assign(3, t);
  REQUIRE(c.size() == 1);
  CHECK(height_in(c[0]) == 1);
}

TEST_CASE("block download: the peer holding up the window is stalling after the timeout") {
  block_download d{small(4, 2)};
  time_point t{1h};
  d.set_target(1, chain(1, 20));
  d.set_peer(1, 20);
  d.set_peer(2, 20);
  auto a = d.assign(1, t); // heights 1, 2
  auto b = d.assign(2, t); // heights 3, 4
  REQUIRE(a.size() == 2);
  REQUIRE(b.size() == 2);
  // Peer 2 delivers; it has free slots but the window (1..4) blocks it.
  for (auto& h : b)
    d.received(2, h, block_at(height_in(h)), t);
  CHECK(d.assign(2, t).empty());
  CHECK(d.check(t + 1s).empty()); // not yet
  auto slow = d.check(t + 2s);
  REQUIRE(slow.size() == 1);
  CHECK(slow[0].peer == 1);
  CHECK(slow[0].stalling);
  CHECK(slow[0].height == 1);
  // Its blocks go to peer 2 at once.
  auto again = d.assign(2, t + 2s);
  REQUIRE(again.size() == 2);
  CHECK(height_in(again[0]) == 1);
}

TEST_CASE("block download: no stall when there is simply nothing else to fetch") {
  block_download d{small(8, 2)};
  time_point t{1h};
  d.set_target(1, chain(1, 3));
  d.set_peer(1, 3);
  d.set_peer(2, 3);
  CHECK(d.assign(1, t).size() == 2);
  CHECK(d.assign(2, t).size() == 1);
  CHECK(d.assign(2, t).empty()); // the whole target is in flight: not the window's fault
  CHECK(d.check(t + 10s).empty());
}

TEST_CASE("block download: a request older than the request timeout is reported") {
  auto cfg = small(100, 2);
  cfg.request_timeout = 30s;
  block_download d{cfg};
  time_point t{1h};
  d.set_target(1, chain(1, 10));
  d.set_peer(1, 10);
  REQUIRE(d.assign(1, t).size() == 2);
  CHECK(d.check(t + 29s).empty());
  auto slow = d.check(t + 30s);
  REQUIRE(slow.size() == 1);
  CHECK_FALSE(slow[0].stalling);
  CHECK(slow[0].peer == 1);
}

TEST_CASE("block download: a reorg drops blocks off the new chain and moves the commit point") {
  block_download d{small(16, 8)};
  time_point t{1h};
  d.set_target(1, chain(1, 8));
  d.set_peer(1, 8);
  auto a = d.assign(1, t);
  REQUIRE(a.size() == 8);
  for (std::uint32_t i = 0; i < 6; ++i)
    d.received(1, a[i], block_at(i + 1), t);
  for (int i = 0; i < 3; ++i)
    REQUIRE(d.take_next()); // 1..3 committed
  // New best chain forks after height 4: heights 5.. are different blocks.
  auto fork = chain(4, 4);
  auto tail = chain(5, 9, 1);
  fork.insert(fork.end(), tail.begin(), tail.end());
  d.set_target(4, fork);
  CHECK(d.next_height() == 4);
  auto r = d.take_next();
  REQUIRE(r); // height 4 is on both chains: kept
  CHECK(r->height == 4);
  CHECK_FALSE(d.take_next()); // height 5 of the old chain was dropped
  CHECK(d.buffered() == 0);
  auto b = d.assign(1, t);
  REQUIRE_FALSE(b.empty());
  CHECK(b[0] == hash_of(5, 1));
}

TEST_CASE("block download: random deliveries and disconnects commit every block once, in order") {
  std::mt19937_64 rng{20261125};
  const std::uint32_t tip = 3000;
  block_download d{block_download::config{}};
  time_point t{1h};
  d.set_target(1, chain(1, tip));
  std::set<block_download::peer_id> peers;
  block_download::peer_id next_peer = 1;
  std::map<block_download::peer_id, std::vector<hash256>> pending;
  std::uint32_t committed = 0;
  for (int round = 0; round < 100000 && committed < tip; ++round) {
    t += 10ms;
    while (peers.size() < 5) {
      peers.insert(next_peer);
      d.set_peer(next_peer, tip);
      ++next_peer;
    }
    for (auto p : peers)
      for (auto& h : d.assign(p, t))
        pending[p].push_back(h);
    // One random peer delivers one random block of its requests, or disconnects (rarely).
    auto it = std::next(peers.begin(), static_cast<long>(rng() % peers.size()));
    auto p = *it;
    if (rng() % 50 == 0) {
      d.remove_peer(p);
      pending.erase(p);
      peers.erase(it);
      continue;
    }
    auto& list = pending[p];
    if (list.empty())
      continue;
    auto k = rng() % list.size();
    auto h = list[k];
    list.erase(list.begin() + static_cast<long>(k));
    REQUIRE(d.received(p, h, block_at(height_in(h)), t) == block_download::arrival::expected);
    while (auto r = d.take_next()) {
      REQUIRE(r->height == committed + 1);
      REQUIRE(r->block.header.nonce == r->height);
      committed = r->height;
    }
    REQUIRE(d.buffered() <= block_download::config{}.window);
  }
  CHECK(committed == tip);
}
