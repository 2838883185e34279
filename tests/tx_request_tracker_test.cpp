// The transaction request schedule: one request per txid in flight, preferred (outbound) peers
// first, the inbound delay, timeouts and notfound moving a request on without re-asking a peer,
// disconnects, the per-peer bounds, and a seeded random run against the invariants. Time is
// explicit throughout: every call is handed its `now`.
#include "runtime/sync/tx_request_tracker.hpp"

#include <doctest/doctest.h>

#include <map>
#include <random>
#include <set>
#include <utility>
#include <vector>

using namespace qtc;
using namespace std::chrono_literals;

namespace {

using tracker = tx_request_tracker;
using ids = std::vector<hash256>;

hash256 tx(std::uint64_t n) {
  hash256 h{};
  for (int i = 0; i < 8; ++i)
    h[i] = static_cast<std::uint8_t>(n >> (8 * i));
  h[31] = 0x5a; // not the null hash
  return h;
}

constexpr tracker::peer_id outbound_a = 1;
constexpr tracker::peer_id outbound_b = 2;
constexpr tracker::peer_id inbound_c = 3;
constexpr tracker::peer_id inbound_d = 4;

const tracker::time_point t0{1h};

} // namespace

TEST_CASE("tx request tracker: at most one request per txid is in flight") {
  tracker r;
  r.announce(outbound_a, tx(1), true, t0);
  r.announce(outbound_b, tx(1), true, t0);
  CHECK(r.requestable(outbound_a, t0) == ids{tx(1)});
  CHECK(r.requestable(outbound_b, t0).empty());
  CHECK(r.requestable(outbound_a, t0).empty()); // not twice to the same peer either
  CHECK(r.is_in_flight(tx(1)));
  CHECK(r.requested_from(tx(1)) == outbound_a);
  CHECK(r.in_flight(outbound_a) == 1);
  CHECK(r.in_flight(outbound_b) == 0);
  CHECK(r.in_flight_total() == 1);
  CHECK(r.size() == 1);
}

TEST_CASE("tx request tracker: a preferred peer is chosen over an earlier non-preferred one") {
  tracker r;
  r.announce(inbound_c, tx(1), false, t0);
  r.announce(outbound_a, tx(1), true, t0 + 3s);
  // At +3 s both are ready; the inbound peer announced first and has been ready since +2 s, yet
  // the outbound one is asked.
  CHECK(r.requestable(inbound_c, t0 + 3s).empty());
  CHECK(r.requestable(outbound_a, t0 + 3s) == ids{tx(1)});
}

TEST_CASE("tx request tracker: ties go to the earliest request time, then the first announcer") {
  tracker r;
  // Two inbound peers: the one whose 2 s ran out first wins even if asked second.
  r.announce(inbound_c, tx(1), false, t0);
  r.announce(inbound_d, tx(1), false, t0 + 500ms);
  CHECK(r.requestable(inbound_d, t0 + 5s).empty());
  CHECK(r.requestable(inbound_c, t0 + 5s) == ids{tx(1)});
  // Two outbound peers announcing at the same moment: the first announcement wins.
  r.announce(outbound_b, tx(2), true, t0);
  r.announce(outbound_a, tx(2), true, t0);
  CHECK(r.requestable(outbound_a, t0).empty());
  CHECK(r.requestable(outbound_b, t0) == ids{tx(2)});
  // With a steady clock the earlier request time is the earlier announcement; handed times out of
  // order, the request time decides: b announced first but with the later time.
  r.announce(outbound_b, tx(3), true, t0 + 10s);
  r.announce(outbound_a, tx(3), true, t0 + 9s);
  CHECK(r.requestable(outbound_b, t0 + 10s).empty());
  CHECK(r.requestable(outbound_a, t0 + 10s) == ids{tx(3)});
}

TEST_CASE("tx request tracker: an inbound announcement waits 2 s, an outbound one does not") {
  tracker r;
  r.announce(inbound_c, tx(1), false, t0);
  r.announce(outbound_a, tx(2), true, t0);
  CHECK(r.requestable(outbound_a, t0) == ids{tx(2)});
  CHECK(r.requestable(inbound_c, t0).empty());
  CHECK(r.requestable(inbound_c, t0 + 1900ms).empty());
  CHECK_FALSE(r.is_in_flight(tx(1)));
  CHECK(r.requestable(inbound_c, t0 + 2s) == ids{tx(1)});
}

TEST_CASE("tx request tracker: a request times out after 60 s and moves to the next announcer") {
  tracker r;
  r.announce(outbound_a, tx(1), true, t0);
  r.announce(outbound_b, tx(1), true, t0 + 1s);
  REQUIRE(r.requestable(outbound_a, t0) == ids{tx(1)});
  CHECK(r.expire(t0 + 59s).empty());
  CHECK(r.requestable(outbound_b, t0 + 59s).empty()); // still waiting for a
  auto expired = r.expire(t0 + 60s);
  CHECK(expired == std::vector<tracker::expired_request>{{outbound_a, tx(1)}});
  CHECK(r.in_flight(outbound_a) == 0);
  CHECK(r.requestable(outbound_a, t0 + 60s).empty()); // a is not asked again
  CHECK(r.requestable(outbound_b, t0 + 60s) == ids{tx(1)});
  CHECK(r.requested_from(tx(1)) == outbound_b);
  CHECK(r.announcements(outbound_a) == 1); // remembered as tried, not forgotten
}

TEST_CASE("tx request tracker: notfound moves the request to the next announcer at once") {
  tracker r;
  r.announce(outbound_a, tx(1), true, t0);
  r.announce(inbound_c, tx(1), false, t0);
  REQUIRE(r.requestable(outbound_a, t0 + 2s) == ids{tx(1)});
  CHECK(r.not_found(outbound_a, tx(1)));
  CHECK_FALSE(r.is_in_flight(tx(1)));
  CHECK(r.requestable(inbound_c, t0 + 2s) == ids{tx(1)});
  CHECK(r.requestable(outbound_a, t0 + 2s).empty());
  // A notfound for a txid the peer never had in flight changes nothing in flight.
  CHECK_FALSE(r.not_found(outbound_a, tx(1)));
  CHECK_FALSE(r.not_found(outbound_b, tx(9)));
  CHECK(r.requested_from(tx(1)) == inbound_c);
}

TEST_CASE("tx request tracker: disconnecting the peer a request is in flight to moves it") {
  tracker r;
  r.announce(outbound_a, tx(1), true, t0);
  r.announce(outbound_b, tx(1), true, t0);
  r.announce(outbound_a, tx(2), true, t0); // only a announced this one
  REQUIRE(r.requestable(outbound_a, t0) == (ids{tx(1), tx(2)}));
  r.disconnected(outbound_a);
  CHECK(r.announcements(outbound_a) == 0);
  CHECK(r.in_flight(outbound_a) == 0);
  CHECK(r.in_flight_total() == 0);
  CHECK_FALSE(r.tracking(tx(2))); // nobody left to ask
  CHECK(r.size() == 1);
  CHECK(r.requestable(outbound_b, t0) == ids{tx(1)});
  r.disconnected(outbound_a); // a second time is harmless
  CHECK(r.in_flight_total() == 1);
}

TEST_CASE("tx request tracker: received and forget clear a txid for every peer") {
  tracker r;
  for (auto p : {outbound_a, outbound_b, inbound_c}) {
    r.announce(p, tx(1), p != inbound_c, t0);
    r.announce(p, tx(2), p != inbound_c, t0);
  }
  REQUIRE(r.requestable(outbound_a, t0) == (ids{tx(1), tx(2)}));
  r.received(outbound_a, tx(1));
  CHECK_FALSE(r.tracking(tx(1)));
  CHECK(r.in_flight(outbound_a) == 1);
  for (auto p : {outbound_a, outbound_b, inbound_c})
    CHECK(r.announcements(p) == 1);
  r.forget(tx(2)); // e.g. it arrived in a block
  CHECK_FALSE(r.tracking(tx(2)));
  CHECK(r.size() == 0);
  CHECK(r.in_flight_total() == 0);
  for (auto p : {outbound_a, outbound_b, inbound_c}) {
    CHECK(r.announcements(p) == 0);
    CHECK(r.in_flight(p) == 0);
    CHECK(r.requestable(p, t0 + 1min).empty());
  }
  CHECK(r.expire(t0 + 1h).empty()); // no stale expiry left behind
}

TEST_CASE("tx request tracker: a peer holds at most 5000 announcements") {
  tracker r;
  REQUIRE(r.settings().max_announcements_per_peer == 5000);
  for (std::uint64_t i = 1; i <= 4999; ++i)
    REQUIRE(r.announce(inbound_c, tx(i), false, t0));
  CHECK(r.announce(inbound_c, tx(5000), false, t0)); // the 5000th
  CHECK_FALSE(r.announce(inbound_c, tx(5001), false, t0));
  CHECK_FALSE(r.tracking(tx(5001))); // nothing stored for the refused one
  CHECK(r.announcements(inbound_c) == 5000);
  CHECK(r.size() == 5000);
  // A repeat at the bound is still "tracked"; another peer has its own bound.
  CHECK(r.announce(inbound_c, tx(7), false, t0));
  CHECK(r.announce(inbound_d, tx(5001), false, t0));
  // Room frees up when a txid is forgotten.
  r.forget(tx(1));
  CHECK(r.announce(inbound_c, tx(5001), false, t0));
  CHECK(r.announcements(inbound_c) == 5000);
  // Unlimited (the relay permission): past the bound all the same.
  CHECK(r.announce(inbound_c, tx(6000), false, t0, true));
  CHECK(r.announcements(inbound_c) == 5001);
}

TEST_CASE("tx request tracker: a peer has at most 100 requests in flight") {
  tracker r;
  REQUIRE(r.settings().max_in_flight_per_peer == 100);
  for (std::uint64_t i = 1; i <= 150; ++i)
    r.announce(outbound_a, tx(i), true, t0);
  auto first = r.requestable(outbound_a, t0);
  REQUIRE(first.size() == 100);
  CHECK(first.front() == tx(1)); // in announcement order
  CHECK(first.back() == tx(100));
  CHECK(r.in_flight(outbound_a) == 100);
  CHECK(r.requestable(outbound_a, t0 + 1s).empty());
  r.received(outbound_a, tx(5));
  CHECK(r.requestable(outbound_a, t0 + 1s) == ids{tx(101)});
}

TEST_CASE("tx request tracker: a peer at its in-flight cap is passed over for another announcer") {
  tracker r{tracker::config{.max_in_flight_per_peer = 2}};
  for (std::uint64_t i = 1; i <= 3; ++i)
    r.announce(outbound_a, tx(i), true, t0);
  r.announce(inbound_c, tx(3), false, t0);
  REQUIRE(r.requestable(outbound_a, t0) == (ids{tx(1), tx(2)}));
  // a would be preferred for tx 3 but is full; the inbound peer gets it once its delay ran out.
  CHECK(r.requestable(inbound_c, t0 + 1s).empty());
  CHECK(r.requestable(inbound_c, t0 + 2s) == ids{tx(3)});
}

TEST_CASE("tx request tracker: expire returns exactly the requests that ran out") {
  tracker r;
  r.announce(outbound_a, tx(1), true, t0);
  r.announce(outbound_a, tx(2), true, t0);
  r.announce(outbound_b, tx(3), true, t0);
  REQUIRE(r.requestable(outbound_a, t0).size() == 2);
  r.announce(outbound_b, tx(4), true, t0 + 10s);
  REQUIRE(r.requestable(outbound_b, t0 + 10s) == (ids{tx(3), tx(4)}));
  CHECK(r.expire(t0 + 60s - 1ns).empty());
  auto first = r.expire(t0 + 60s);
  std::set<std::pair<tracker::peer_id, hash256>> got;
  for (const auto& x : first)
    got.emplace(x.peer, x.txid);
  CHECK(first.size() == 2);
  CHECK(
      got
      == std::set<std::pair<tracker::peer_id, hash256>>{{outbound_a, tx(1)}, {outbound_a, tx(2)}});
  CHECK(r.in_flight_total() == 2);
  CHECK(r.expire(t0 + 60s).empty()); // each expires once
  auto second = r.expire(t0 + 2min);
  CHECK(second.size() == 2);
  CHECK(second.front().peer == outbound_b);
  CHECK(second.back().peer == outbound_b);
  CHECK(r.in_flight_total() == 0);
  CHECK(r.size() == 0); // every announcer failed, nothing left to track
}

TEST_CASE("tx request tracker: a txid every announcer failed is requestable from nobody") {
  tracker r;
  r.announce(outbound_a, tx(1), true, t0);
  r.announce(inbound_c, tx(1), false, t0);
  REQUIRE(r.requestable(outbound_a, t0) == ids{tx(1)});
  r.not_found(outbound_a, tx(1));
  REQUIRE(r.requestable(inbound_c, t0 + 2s) == ids{tx(1)});
  CHECK(r.expire(t0 + 62s).size() == 1);
  CHECK(r.requestable(outbound_a, t0 + 62s).empty());
  CHECK(r.requestable(inbound_c, t0 + 62s).empty());
  CHECK_FALSE(r.tracking(tx(1))); // forgotten along with the tried announcements
  CHECK(r.announcements(outbound_a) == 0);
  CHECK(r.announcements(inbound_c) == 0);
}

TEST_CASE("tx request tracker: a repeated announcement changes nothing") {
  tracker r;
  r.announce(inbound_c, tx(1), false, t0);
  CHECK(r.announce(inbound_c, tx(1), true, t0 + 1s)); // not promoted to preferred, not delayed
  CHECK(r.announcements(inbound_c) == 1);
  CHECK(r.requestable(inbound_c, t0 + 1900ms).empty());
  CHECK(r.requestable(inbound_c, t0 + 2s) == ids{tx(1)});
  // A tried peer that announces again is not asked again while another announcer remains.
  r.announce(inbound_d, tx(1), false, t0 + 2s);
  r.not_found(inbound_c, tx(1));
  CHECK(r.announce(inbound_c, tx(1), false, t0 + 3s));
  CHECK(r.requestable(inbound_c, t0 + 10s).empty());
  CHECK(r.requestable(inbound_d, t0 + 10s) == ids{tx(1)});
}

namespace {

/// A random mix of calls against a model of what must hold: which txid is in flight to whom, and
/// which peers failed which txids (while the txid is tracked).
struct random_run {
  static constexpr std::uint64_t peers = 8;
  static constexpr std::uint64_t txids = 40;
  static constexpr std::size_t max_announcements = 20;
  static constexpr std::size_t max_in_flight = 5;

  std::mt19937_64 rng{20240611};
  tracker r{tracker::config{.max_announcements_per_peer = max_announcements,
                            .max_in_flight_per_peer = max_in_flight}};
  tracker::time_point now = t0;
  std::map<hash256, tracker::peer_id> asked;
  std::set<std::pair<tracker::peer_id, hash256>> tried;

  std::uint64_t pick(std::uint64_t n) {
    return rng() % n;
  }

  void fail(tracker::peer_id p, const hash256& id) {
    tried.emplace(p, id);
    asked.erase(id);
  }

  void request(tracker::peer_id p) {
    for (const auto& got : r.requestable(p, now)) {
      CHECK_FALSE(asked.contains(got)); // never a second request in flight
      CHECK_FALSE(tried.contains({p, got}));
      asked[got] = p;
    }
    CHECK(r.in_flight(p) <= max_in_flight);
  }

  void expire() {
    for (const auto& x : r.expire(now)) {
      auto a = asked.find(x.txid);
      REQUIRE(a != asked.end());
      CHECK(a->second == x.peer);
      fail(x.peer, x.txid);
    }
  }

  void step() {
    tracker::peer_id p = 1 + pick(peers);
    auto id = tx(pick(txids));
    switch (pick(8)) {
    case 0:
    case 1:
      r.announce(p, id, p <= 3, now);
      break;
    case 2:
      request(p);
      break;
    case 3:
      if (r.not_found(p, id)) // (a notfound without a request also marks tried; not modelled)
        fail(p, id);
      break;
    case 4:
      expire();
      break;
    case 5:
      if (pick(4) == 0) {
        r.forget(id);
        asked.erase(id);
      }
      break;
    case 6:
      if (pick(50) == 0) {
        r.disconnected(p);
        std::erase_if(asked, [&](const auto& a) { return a.second == p; });
        std::erase_if(tried, [&](const auto& t) { return t.first == p; });
      }
      break;
    default:
      now += std::chrono::milliseconds{pick(5000)};
    }
    // A forgotten txid starts afresh if announced again.
    std::erase_if(tried, [&](const auto& t) { return !r.tracking(t.second); });
  }

  void check() {
    std::size_t sum = 0;
    for (tracker::peer_id q = 1; q <= peers; ++q) {
      sum += r.in_flight(q);
      REQUIRE(r.announcements(q) <= max_announcements);
    }
    REQUIRE(r.in_flight_total() == sum);
    REQUIRE(r.in_flight_total() == asked.size());
    for (const auto& [id, p] : asked)
      REQUIRE(r.requested_from(id) == p);
  }
};

} // namespace

TEST_CASE("tx request tracker: a seeded random run keeps the invariants") {
  random_run run;
  for (int i = 0; i < 20000; ++i) {
    run.step();
    run.check();
  }
  CHECK(run.r.size() > 0); // the run did not just drain everything
}
