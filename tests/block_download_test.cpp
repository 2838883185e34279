// The block download scheduler in explicit time: window and per-peer limits, distribution,
// in-order commits, re-requests after disconnect, notfound and invalid blocks, stall and timeout
// detection, reorgs, counters, and a randomized run.
#include "runtime/sync/block_download.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <set>

using namespace qtc;
using namespace std::chrono_literals;

namespace {

using time_point = block_download::time_point;
using arrival = block_download::arrival;

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

std::vector<std::uint32_t> heights_in(const std::vector<hash256>& hashes) {
  std::vector<std::uint32_t> out;
  for (const auto& h : hashes)
    out.push_back(height_in(h));
  return out;
}

/// The peer delivers every block in `hashes` at `t`; each must be expected.
void deliver(block_download& d, block_download::peer_id peer, const std::vector<hash256>& hashes,
             time_point t) {
  for (const auto& h : hashes)
    REQUIRE(d.received(peer, h, block_at(height_in(h)), t) == arrival::expected);
}

/// The heights take_next() hands out now.
std::vector<std::uint32_t> take_all(block_download& d) {
  std::vector<std::uint32_t> out;
  while (auto r = d.take_next()) {
    CHECK(r->block.header.nonce == r->height);
    out.push_back(r->height);
  }
  return out;
}

/// A small window and few slots; a peer is refilled slot by slot (request_batch 1) unless a
/// test is about the batches.
block_download::config small(std::uint32_t window = 8, std::uint32_t per_peer = 3) {
  block_download::config c;
  c.window = window;
  c.per_peer = per_peer;
  c.request_batch = 1;
  return c;
}

using heights = std::vector<std::uint32_t>;

const time_point t0{1h};

/// A scheduler for heights 1..tip with peers 1..peers, each able to serve all of them.
block_download downloading(block_download::config cfg, std::uint32_t tip,
                           block_download::peer_id peers) {
  block_download d{cfg};
  d.set_target(1, chain(1, tip));
  for (block_download::peer_id p = 1; p <= peers; ++p)
    d.set_peer(p, tip);
  return d;
}

/// 20 blocks, a window of 4 and 2 slots per peer: peer 1 holds heights 1 and 2 in flight;
/// peer 2 (serving up to `peer_2_best`) delivered 3 and 4 and found nothing to fetch at
/// `blocked_at`. `cfg` may change the timeouts.
block_download blocked_window(block_download::config cfg, std::uint32_t peer_2_best,
                              time_point blocked_at) {
  cfg.window = 4;
  cfg.per_peer = 2;
  auto d = downloading(cfg, 20, 1);
  d.set_peer(2, peer_2_best);
  CHECK(heights_in(d.assign(1, t0)) == heights{1, 2});
  CHECK(heights_in(d.assign(2, t0)) == heights{3, 4});
  deliver(d, 2, chain(3, 4), t0);
  CHECK(d.assign(2, blocked_at).empty());
  return d;
}

} // namespace

TEST_CASE("block download: window and per-peer limits, lowest heights first") {
  auto d = downloading(small(8, 3), 100, 4);
  CHECK(heights_in(d.assign(1, t0)) == heights{1, 2, 3});
  CHECK(heights_in(d.assign(2, t0)) == heights{4, 5, 6});
  // The window (8 heights from 1) leaves peer 3 only heights 7 and 8, and peer 4 nothing.
  CHECK(heights_in(d.assign(3, t0)) == heights{7, 8});
  CHECK(d.assign(4, t0).empty());
  CHECK(d.in_flight() == 8);
  CHECK(d.in_flight(1) == 3);
  CHECK(d.assign(1, t0).empty()); // its slots are full
  // Heights 1..3 arrive: the window moves to 4..11, and peer 1 has free slots again.
  deliver(d, 1, chain(1, 3), t0);
  CHECK(take_all(d) == heights{1, 2, 3});
  CHECK(heights_in(d.assign(1, t0)) == heights{9, 10, 11});
  CHECK(d.assign(4, t0).empty()); // the window 4..11 is all in flight
  auto s = d.stats();
  CHECK(s.committed == 3);
  CHECK(s.in_flight == 8);
  CHECK(s.buffered == 0);
  CHECK(s.queued == 0);
  CHECK(s.next_height == 4);
  CHECK(s.end_height == 101);
}

TEST_CASE("block download: a delivering peer is asked again once a batch of its slots is free") {
  block_download::config c; // Core's 16 per peer, batches of 4
  REQUIRE(c.per_peer == 16);
  REQUIRE(c.request_batch == 4);
  auto d = downloading(c, 100, 1);
  CHECK(d.assign(1, t0).size() == 16);
  for (std::uint32_t h = 1; h <= 3; ++h) {
    deliver(d, 1, {hash_of(h)}, t0);
    CHECK(d.assign(1, t0).empty()); // 13, 14, 15 still in flight: not yet
  }
  deliver(d, 1, {hash_of(4)}, t0);
  CHECK(heights_in(d.assign(1, t0)) == heights{17, 18, 19, 20}); // four at once
  // A peer with nothing in flight is asked at once, whatever is left (here two blocks).
  auto e = downloading(c, 2, 1);
  CHECK(heights_in(e.assign(1, t0)) == heights{1, 2});
  // Fewer slots than a batch: refilled only when empty.
  c.per_peer = 2;
  auto f = downloading(c, 10, 1);
  CHECK(f.assign(1, t0).size() == 2);
  deliver(f, 1, {hash_of(1)}, t0);
  CHECK(f.assign(1, t0).empty());
  deliver(f, 1, {hash_of(2)}, t0);
  CHECK(heights_in(f.assign(1, t0)) == heights{3, 4});
}

TEST_CASE("block download: work is spread over several peers, each block from one peer") {
  block_download d{small(64, 4)};
  d.set_target(1, chain(1, 64));
  for (block_download::peer_id p = 1; p <= 5; ++p)
    d.set_peer(p, 64);
  std::set<std::uint32_t> requested;
  for (block_download::peer_id p = 1; p <= 5; ++p) {
    auto got = heights_in(d.assign(p, t0));
    CHECK(got.size() == 4);
    for (auto h : got)
      CHECK(requested.insert(h).second); // never in flight from two peers
  }
  CHECK(requested.size() == 20);
  CHECK(*requested.begin() == 1);
  CHECK(*requested.rbegin() == 20);
  for (block_download::peer_id p = 1; p <= 5; ++p) {
    REQUIRE(d.peer_stats(p));
    CHECK(d.peer_stats(p)->in_flight == 4);
  }
  CHECK_FALSE(d.peer_stats(6));
}

TEST_CASE("block download: a peer is not asked above its best height") {
  block_download d{small(16, 8)};
  d.set_target(1, chain(1, 20));
  d.set_peer(1, 2);
  CHECK(heights_in(d.assign(1, t0)) == heights{1, 2});
  CHECK(d.assign(1, t0).empty());
  d.set_peer(1, 5); // it announced more
  CHECK(heights_in(d.assign(1, t0)) == heights{3, 4, 5});
  // A peer that can serve more takes the rest, and the low peer never gets above 5.
  d.set_peer(2, 20);
  CHECK(heights_in(d.assign(2, t0)) == heights{6, 7, 8, 9, 10, 11, 12, 13});
  d.set_peer(1, 3); // after a reorg it serves less of our chain
  CHECK(d.assign(1, t0).empty());
}

TEST_CASE("block download: out-of-order arrivals are committed in height order") {
  block_download d{small(8, 4)};
  d.set_target(1, chain(1, 4));
  d.set_peer(7, 4);
  auto a = d.assign(7, t0);
  REQUIRE(a.size() == 4);
  CHECK(d.received(7, a[2], block_at(3), t0) == arrival::expected);
  CHECK(d.received(7, a[1], block_at(2), t0) == arrival::expected);
  CHECK_FALSE(d.take_next()); // height 1 is still missing
  CHECK(d.buffered() == 2);
  CHECK(d.received(7, a[0], block_at(1), t0) == arrival::expected);
  auto first = d.take_next();
  REQUIRE(first);
  CHECK(first->height == 1);
  CHECK(first->hash == hash_of(1));
  CHECK(first->from == 7);
  CHECK(take_all(d) == heights{2, 3});
  CHECK(d.next_height() == 4);
  CHECK(d.received(7, a[2], block_at(3), t0) == arrival::duplicate); // already committed
  CHECK(d.delivered(7) == 3);
  CHECK(d.stats().committed == 3);
}

TEST_CASE("block download: a block's bytes are buffered with it and handed out for storage") {
  block_download d{small(8, 4)};
  d.set_target(1, chain(1, 2));
  d.set_peer(7, 2);
  auto a = d.assign(7, t0);
  REQUIRE(a.size() == 2);
  CHECK(d.received(7, a[1], block_at(2), t0, bytes(300, 2)) == arrival::expected);
  CHECK(d.received(7, a[0], block_at(1), t0) == arrival::expected); // none kept: empty
  CHECK(d.stats().buffered_bytes == 300);
  auto first = d.take_next();
  REQUIRE(first);
  CHECK(first->raw.empty());
  auto second = d.take_next();
  REQUIRE(second);
  CHECK(second->raw == bytes(300, 2));
  CHECK(d.stats().buffered_bytes == 0);
}

TEST_CASE("block download: unrequested, duplicate and unknown blocks are told apart") {
  auto d = downloading(small(8, 2), 10, 2);
  auto a = d.assign(1, t0); // 1, 2
  REQUIRE(a.size() == 2);
  CHECK(d.received(2, a[0], block_at(1), t0) == arrival::unrequested);       // in flight from 1
  CHECK(d.received(2, hash_of(5), block_at(5), t0) == arrival::unrequested); // not requested
  CHECK(d.received(2, hash_of(5, 9), block_at(5), t0) == arrival::unknown);  // off the chain
  CHECK(d.received(1, a[1], block_at(2), t0) == arrival::expected);
  CHECK(d.received(1, a[1], block_at(2), t0) == arrival::duplicate); // buffered already
  CHECK(d.buffered() == 1);
  CHECK(d.delivered(1) == 1);
  CHECK(d.delivered(2) == 0);
}

TEST_CASE("block download: a block announced unasked is taken only at the commit point") {
  auto d = downloading(small(8, 2), 10, 2);
  CHECK(heights_in(d.assign(1, t0)) == heights{1, 2});
  // Above the commit point, off the chain: refused, nothing changes.
  CHECK_FALSE(d.announced(2, hash_of(2), t0));
  CHECK_FALSE(d.announced(2, hash_of(1, 9), t0));
  CHECK(d.received(2, hash_of(1), block_at(1), t0) == arrival::unrequested);
  // The commit point's block: withdrawn from peer 1, now counted as in flight from peer 2.
  CHECK(d.announced(2, hash_of(1), t0));
  CHECK(d.announced(2, hash_of(1), t0)); // again: still its own
  CHECK(d.in_flight(1) == 1);
  CHECK(d.in_flight(2) == 1);
  CHECK(d.received(1, hash_of(1), block_at(1), t0) == arrival::unrequested);
  CHECK(d.received(2, hash_of(1), block_at(1), t0) == arrival::expected);
  CHECK_FALSE(d.announced(2, hash_of(1), t0)); // buffered already
  CHECK(take_all(d) == heights{1});
  // A submitter the scheduler has never seen (no set_peer): the next block, from the queue.
  deliver(d, 1, chain(2, 2), t0);
  CHECK(take_all(d) == heights{2});
  CHECK(d.announced(0, hash_of(3), t0));
  CHECK(d.received(0, hash_of(3), block_at(3), t0) == arrival::expected);
  CHECK(take_all(d) == heights{3});
  // Its best height is unknown (0): it is never handed requests.
  CHECK(d.assign(0, t0).empty());
  CHECK(d.in_flight(0) == 0);
}

TEST_CASE("block download: a disconnected peer's requests go to another peer first") {
  auto d = downloading(small(8, 3), 10, 2);
  CHECK(heights_in(d.assign(1, t0)) == heights{1, 2, 3});
  CHECK(heights_in(d.assign(2, t0)) == heights{4, 5, 6});
  deliver(d, 2, chain(4, 6), t0);
  d.remove_peer(1);
  CHECK(d.in_flight() == 0);
  CHECK_FALSE(d.peer_stats(1));
  // Peer 2 gets the lost heights before anything higher.
  CHECK(heights_in(d.assign(2, t0)) == heights{1, 2, 3});
  CHECK(d.received(1, hash_of(1), block_at(1), t0) == arrival::unrequested);
  deliver(d, 2, chain(1, 3), t0);
  CHECK(take_all(d) == heights{1, 2, 3, 4, 5, 6});
}

TEST_CASE("block download: notfound sends the block elsewhere and never to that peer again") {
  auto d = downloading(small(8, 1), 3, 2);
  CHECK(heights_in(d.assign(1, t0)) == heights{1});
  d.not_found(1, hash_of(1), t0);
  CHECK(d.in_flight(1) == 0);
  CHECK(heights_in(d.assign(1, t0)) == heights{2}); // not 1 again
  CHECK(heights_in(d.assign(2, t0)) == heights{1});
  // A notfound for a block not requested from the peer changes nothing in flight.
  d.not_found(1, hash_of(1), t0);
  CHECK(d.in_flight(2) == 1);
  deliver(d, 2, {hash_of(1)}, t0);
  deliver(d, 1, {hash_of(2)}, t0);
  CHECK(take_all(d) == heights{1, 2});
}

TEST_CASE("block download: an invalid block is fetched again from another peer") {
  auto d = downloading(small(8, 2), 6, 2);
  CHECK(heights_in(d.assign(1, t0)) == heights{1, 2});
  CHECK(heights_in(d.assign(2, t0)) == heights{3, 4});
  deliver(d, 1, {hash_of(1)}, t0);
  auto r = d.take_next();
  REQUIRE(r);
  CHECK(r->from == 1);
  CHECK(d.stats().committed == 1);
  // Height 1 is invalid: the commit point moves back, peer 1's requests (height 2) are freed and
  // it gets nothing more, since the caller disconnects it.
  d.rejected(r->height, r->from);
  CHECK(d.next_height() == 1);
  CHECK(d.stats().committed == 0);
  CHECK(d.in_flight(1) == 0);
  REQUIRE(d.peer_stats(1));
  CHECK(d.peer_stats(1)->retired);
  CHECK(d.assign(1, t0).empty());
  CHECK(d.received(1, hash_of(2), block_at(2), t0) == arrival::unrequested);
  deliver(d, 2, chain(3, 4), t0);
  CHECK(heights_in(d.assign(2, t0)) == heights{1, 2});
  deliver(d, 2, chain(1, 2), t0);
  auto again = d.take_next();
  REQUIRE(again);
  CHECK(again->height == 1);
  CHECK(again->from == 2);
  CHECK(take_all(d) == heights{2, 3, 4});
  // A rejection of a height not taken is ignored.
  d.rejected(6, 2);
  CHECK(d.next_height() == 5);
  CHECK_FALSE(d.peer_stats(2)->retired);
}

TEST_CASE("block download: an invalid block far below the commit point shrinks the window") {
  auto d = downloading(small(4, 4), 20, 2);
  CHECK(heights_in(d.assign(1, t0)) == heights{1, 2, 3, 4});
  deliver(d, 1, chain(1, 4), t0);
  CHECK(take_all(d) == heights{1, 2, 3, 4});
  CHECK(heights_in(d.assign(2, t0)) == heights{5, 6, 7, 8});
  deliver(d, 2, {hash_of(8)}, t0);
  // Height 2 was invalid: 2..4 are handed out again, and the window is 2..5 once more, so what
  // lies above it (6, 7 in flight, 8 buffered) is dropped to keep the bound.
  d.rejected(2, 1);
  auto s = d.stats();
  CHECK(s.next_height == 2);
  CHECK(s.committed == 1);
  CHECK(s.in_flight == 1); // height 5, from peer 2
  CHECK(s.buffered == 0);
  CHECK(s.queued == 3); // 2, 3, 4
  CHECK(heights_in(d.assign(2, t0)) == heights{2, 3, 4});
  CHECK(d.received(2, hash_of(6), block_at(6), t0) == arrival::unrequested);
}

TEST_CASE("block download: the peer holding up the window is stalling after the timeout") {
  // Peer 2 has free slots but the window (1..4) blocks it: peer 1's clock starts.
  auto d = blocked_window({}, 20, t0 + 1s);
  CHECK(d.check(t0 + 2s).empty()); // 1 s since the window blocked
  auto slow = d.check(t0 + 3s);
  REQUIRE(slow.size() == 1);
  CHECK(slow[0].peer == 1);
  CHECK(slow[0].stalling);
  CHECK(slow[0].height == 1);
  CHECK(d.peer_stats(1)->retired);
  CHECK(d.in_flight(1) == 0);
  // Its blocks go to peer 2 at once; the next stall needs twice as long.
  CHECK(heights_in(d.assign(2, t0 + 3s)) == heights{1, 2});
  CHECK(d.stats().stall_timeout == 4s);
  CHECK(d.assign(1, t0 + 3s).empty());
  CHECK(d.check(t0 + 10s).empty()); // no one else blocks the window
}

TEST_CASE("block download: a stalling peer whose request also timed out is reported once") {
  block_download::config cfg;
  cfg.request_timeout = 3s;
  auto d = blocked_window(cfg, 20, t0);
  auto slow = d.check(t0 + 5s);
  REQUIRE(slow.size() == 1);
  CHECK(slow[0].peer == 1);
  CHECK(slow[0].stalling);
  CHECK(d.peer_stats(1)->timeouts == 0);
}

TEST_CASE("block download: a stalling peer's clock stops when it delivers") {
  auto d = blocked_window({}, 20, t0);      // peer 1's clock starts at t0
  deliver(d, 1, {hash_of(2)}, t0 + 1500ms); // it is working: the clock stops
  CHECK(d.check(t0 + 2500ms).empty());
  CHECK(d.assign(2, t0 + 2500ms).empty()); // still blocked at height 1: the clock restarts
  CHECK(d.check(t0 + 4400ms).empty());
  auto slow = d.check(t0 + 4500ms);
  REQUIRE(slow.size() == 1);
  CHECK(slow[0].peer == 1);
}

TEST_CASE("block download: no stall when there is simply nothing else to fetch") {
  auto d = downloading(small(8, 2), 3, 2);
  CHECK(d.assign(1, t0).size() == 2);
  CHECK(d.assign(2, t0).size() == 1);
  CHECK(d.assign(2, t0).empty()); // the whole target is in flight: not the window's fault
  CHECK(d.check(t0 + 10s).empty());
  // Nor when the idle peer cannot serve what lies past the window.
  auto e = blocked_window({}, 4, t0);
  CHECK(e.check(t0 + 10s).empty());
  // Nor when the blocked peer holds the commit point's block itself.
  auto f = downloading(small(2, 4), 20, 1);
  CHECK(f.assign(1, t0).size() == 2);
  CHECK(f.assign(1, t0).empty());
  CHECK(f.check(t0 + 10s).empty());
}

TEST_CASE("block download: the stall timeout doubles after a stall and relaxes with progress") {
  auto cfg = small(2, 1);
  cfg.stall_timeout_max = 6s;
  block_download d{cfg};
  d.set_target(1, chain(1, 50));
  auto t = t0;
  block_download::peer_id staller = 1;
  d.set_peer(staller, 50);
  std::vector<std::chrono::seconds> timeouts;
  for (int round = 0; round < 3; ++round) {
    // A fresh pair: the staller holds the commit point, the worker delivers the block above it.
    auto worker = staller + 1;
    d.set_peer(worker, 50);
    REQUIRE(d.assign(staller, t).size() == 1);
    deliver(d, worker, d.assign(worker, t), t);
    CHECK(d.assign(worker, t).empty());
    auto timeout = d.stats().stall_timeout;
    CHECK(d.check(t + timeout - 1ms).empty());
    auto slow = d.check(t + timeout);
    REQUIRE(slow.size() == 1);
    CHECK(slow[0].peer == staller);
    timeouts.push_back(std::chrono::duration_cast<std::chrono::seconds>(timeout));
    t += timeout;
    d.remove_peer(staller);
    staller = worker;
  }
  CHECK(timeouts == std::vector<std::chrono::seconds>{2s, 4s, 6s}); // capped at the maximum
  // Commits relax it by 15 % each, down to the configured 2 s.
  d.set_peer(9, 50);
  for (int i = 0; i < 2; ++i) {
    deliver(d, 9, d.assign(9, t), t);
    take_all(d);
  }
  CHECK(d.stats().stall_timeout < 6s);
  CHECK(d.stats().stall_timeout > 2s);
  for (int i = 0; i < 20; ++i) {
    deliver(d, 9, d.assign(9, t), t);
    take_all(d);
  }
  CHECK(d.stats().stall_timeout == 2s);
}

TEST_CASE("block download: a request unanswered past the request timeout goes elsewhere") {
  auto cfg = small(100, 2);
  cfg.request_timeout = 30s;
  auto d = downloading(cfg, 10, 1);
  CHECK(heights_in(d.assign(1, t0)) == heights{1, 2});
  CHECK(d.check(t0 + 29s).empty());
  auto slow = d.check(t0 + 30s);
  REQUIRE(slow.size() == 1);
  CHECK_FALSE(slow[0].stalling);
  CHECK(slow[0].peer == 1);
  CHECK(slow[0].height == 1);
  CHECK(d.peer_stats(1)->timeouts == 1);
  CHECK(d.in_flight() == 0);
  // The slow peer is not asked for those blocks again; another peer is.
  CHECK(heights_in(d.assign(1, t0 + 30s)) == heights{3, 4});
  d.set_peer(2, 10);
  CHECK(heights_in(d.assign(2, t0 + 30s)) == heights{1, 2});
}

TEST_CASE("block download: the request timeout runs from when a request became the oldest") {
  auto cfg = small(100, 3);
  cfg.request_timeout = 30s;
  auto d = downloading(cfg, 10, 1);
  CHECK(d.assign(1, t0).size() == 3);
  // It works through its queue: 20 s per block, each within the timeout of its turn.
  deliver(d, 1, {hash_of(1)}, t0 + 20s);
  deliver(d, 1, {hash_of(2)}, t0 + 40s);
  CHECK(d.check(t0 + 69s).empty());
  auto slow = d.check(t0 + 70s);
  REQUIRE(slow.size() == 1);
  CHECK(slow[0].height == 3);
  // Delivering another block does not restart the clock of the oldest request.
  auto e = downloading(cfg, 10, 1);
  CHECK(e.assign(1, t0).size() == 3);
  deliver(e, 1, {hash_of(3)}, t0 + 20s);
  auto late = e.check(t0 + 30s);
  REQUIRE(late.size() == 1);
  CHECK(late[0].height == 1);
}

TEST_CASE("block download: a longer target extends the window's reach") {
  block_download d{small(8, 8)};
  d.set_target(1, chain(1, 3));
  d.set_peer(1, 100);
  CHECK(heights_in(d.assign(1, t0)) == heights{1, 2, 3});
  deliver(d, 1, {hash_of(2)}, t0);
  d.set_target(1, chain(1, 10)); // more headers: what is in flight or buffered stays
  CHECK(d.in_flight() == 2);
  CHECK(d.buffered() == 1);
  CHECK(heights_in(d.assign(1, t0)) == heights{4, 5, 6, 7, 8});
  deliver(d, 1, {hash_of(1)}, t0);
  CHECK(take_all(d) == heights{1, 2});
}

TEST_CASE("block download: a reorg drops blocks off the new chain and moves the commit point") {
  auto d = downloading(small(16, 8), 8, 2);
  auto a = d.assign(1, t0); // 1..8
  REQUIRE(a.size() == 8);
  deliver(d, 1, chain(1, 6), t0);
  CHECK(take_all(d) == heights{1, 2, 3, 4, 5, 6});
  // The caller stored 1..3 only when the new best chain, forking after height 3, arrives: the
  // commit point moves back to 4; 7 and 8 of the old chain are dropped from flight.
  auto fork = chain(4, 9, 1);
  d.set_target(4, fork);
  CHECK(d.next_height() == 4);
  CHECK(d.end_height() == 10);
  CHECK(d.in_flight() == 0);
  CHECK(d.buffered() == 0);
  CHECK(d.received(1, hash_of(7), block_at(7), t0) == arrival::unknown);
  d.set_peer(1, 9);
  auto b = d.assign(1, t0);
  REQUIRE(b.size() == 6);
  CHECK(b[0] == hash_of(4, 1));
  // A reorg keeps what is on both chains: buffered 4, 5 survive; 6.. change again.
  deliver(d, 1, std::vector<hash256>(b.begin(), b.begin() + 3), t0); // 4, 5, 6
  auto second = chain(4, 5, 1);
  auto tail = chain(6, 12, 2);
  second.insert(second.end(), tail.begin(), tail.end());
  d.set_target(4, second);
  CHECK(d.buffered() == 2);
  CHECK(d.in_flight() == 0);
  d.set_peer(2, 12);
  CHECK(heights_in(d.assign(2, t0)) == heights{6, 7, 8, 9, 10, 11, 12});
  CHECK(d.assign(2, t0).size() == 0);
  auto r = d.take_next();
  REQUIRE(r);
  CHECK(r->hash == hash_of(4, 1));
  CHECK(take_all(d) == heights{5});
}

TEST_CASE("block download: random deliveries and disconnects commit every block once, in order") {
  std::mt19937_64 rng{20261125};
  const std::uint32_t tip = 3000;
  block_download::config cfg;
  cfg.window = 128;
  block_download d{cfg};
  auto t = t0;
  d.set_target(1, chain(1, tip));
  std::vector<block_download::peer_id> peers;
  block_download::peer_id next_peer = 1;
  std::map<block_download::peer_id, std::vector<hash256>> pending;
  std::vector<std::uint32_t> committed;
  std::uint64_t disconnects = 0;
  for (int round = 0; round < 200000 && committed.size() < tip; ++round) {
    t += 10ms;
    while (peers.size() < 6) {
      // Some peers serve only part of the chain; they grow later.
      d.set_peer(next_peer, rng() % 3 == 0 ? tip / 2 : tip);
      peers.push_back(next_peer++);
    }
    for (auto p : peers) {
      if (rng() % 100 == 0)
        d.set_peer(p, tip);
      for (auto& h : d.assign(p, t))
        pending[p].push_back(h);
      REQUIRE(d.in_flight(p) <= cfg.per_peer);
    }
    auto k = rng() % peers.size();
    auto p = peers[k];
    if (rng() % 60 == 0) {
      d.remove_peer(p);
      pending.erase(p);
      peers.erase(peers.begin() + static_cast<long>(k));
      ++disconnects;
      continue;
    }
    // The peer answers one of its requests, picked at random.
    auto& list = pending[p];
    if (list.empty())
      continue;
    auto i = rng() % list.size();
    auto h = list[i];
    list.erase(list.begin() + static_cast<long>(i));
    REQUIRE(d.received(p, h, block_at(height_in(h)), t) == arrival::expected);
    for (auto height : take_all(d))
      committed.push_back(height);
    auto s = d.stats();
    REQUIRE(s.buffered <= cfg.window);
    // Every height inside the window is queued, in flight or buffered: none is lost.
    REQUIRE(s.queued + s.in_flight + s.buffered
            == std::min<std::uint32_t>(cfg.window, s.end_height - s.next_height));
  }
  REQUIRE(committed.size() == tip);
  for (std::uint32_t i = 0; i < tip; ++i)
    REQUIRE(committed[i] == i + 1);
  CHECK(d.stats().committed == tip);
  CHECK(disconnects > 10);
}
