// Whole nodes (storage, sync coordinator, peer manager, peer sessions with Noise) on the
// simulator's in-memory network, in virtual time: a fresh node syncs from serving nodes, a
// silent peer is detected as stalling and sync completes from the others.
#include "support/node_simulation.hpp"

using namespace qtc;
using namespace qtc::test;
using namespace std::chrono_literals;

TEST_CASE_FIXTURE(sim_fixture, "simulation: a fresh node syncs 300 blocks from two serving nodes") {
  mine(dir.path() / "10.0.0.1", 300);
  mine(dir.path() / "10.0.0.2", 300);
  auto a = start_node("10.0.0.1", {}, 1);
  auto b = start_node("10.0.0.2", {}, 2);
  auto fresh = start_node("10.0.0.9", {"10.0.0.1:18444", "10.0.0.2:18444"}, 9);
  CHECK(blocks_of(a) == 300);
  CHECK(blocks_of(fresh) == 0);
  auto took = run_until_synced(fresh, 300, 60s);
  REQUIRE(took);
  auto status = sync_status(fresh);
  REQUIRE(status);
  CHECK(caf::get_or(*status, "headers", std::int64_t{0}) == 300);
  CHECK(caf::get_or(*status, "target", std::int64_t{0}) == 300);
  CHECK(caf::get_or(*status, "progress", 0.0) == doctest::Approx(1.0));
  CHECK(caf::get_or(*status, "download.commit-point", std::int64_t{0}) == 301);
  CHECK(caf::get_or(*status, "download.in-flight", std::int64_t{-1}) == 0);
  CHECK(caf::get_or(*status, "tip", std::string{})
        == caf::get_or(*sync_status(a), "tip", std::string{"?"}));
  // Both serving nodes delivered blocks (the download runs in parallel).
  auto peers = caf::get_if<caf::config_value::list>(&*status, "peer-state");
  REQUIRE(peers);
  REQUIRE(peers->size() == 2);
  for (const auto& p : *peers) {
    auto entry = caf::get_if<caf::settings>(&p);
    REQUIRE(entry);
    CHECK(caf::get_or(*entry, "useful-blocks", std::int64_t{0}) > 0);
    CHECK(caf::get_or(*entry, "delivered", std::int64_t{0})
          == caf::get_or(*entry, "useful-blocks", std::int64_t{-1}));
  }
  // Each round trip costs 40 ms of virtual latency; 300 blocks in rounds of 2 x 16 blocks plus
  // the handshakes and headers take well under two seconds.
  CHECK(*took < 2000);
  MESSAGE("synced 300 blocks in " << *took << " virtual ms");
}

TEST_CASE_FIXTURE(sim_fixture,
                  "simulation: a silent serving node is dropped as stalling and sync completes") {
  mine(dir.path() / "10.0.0.1", 300);
  mine(dir.path() / "10.0.0.2", 300);
  start_node("10.0.0.1", {}, 1);
  start_node("10.0.0.2", {}, 2);
  // A window of 64 blocks (Bitcoin Core: 1024) so that a 300-block chain can block it.
  block_download::config download;
  download.window = 64;
  auto fresh = start_node("10.0.0.9", {"10.0.0.1:18444", "10.0.0.2:18444"}, 9, download);
  // Once both serving nodes have delivered blocks, node 2 goes silent with requests in flight.
  auto both_delivering = [&] {
    auto status = sync_status(fresh);
    if (!status)
      return false;
    auto peers = caf::get_if<caf::config_value::list>(&*status, "peer-state");
    if (!peers || peers->size() != 2)
      return false;
    for (const auto& p : *peers)
      if (caf::get_or(caf::get<caf::settings>(p), "useful-blocks", std::int64_t{0}) == 0)
        return false;
    return true;
  };
  for (int i = 0; i < 500 && !both_delivering(); ++i)
    advance(10ms);
  REQUIRE(both_delivering());
  REQUIRE(blocks_of(fresh) < 200);
  self->send(net, close_atom::value, std::string{"10.0.0.2"});
  auto took = run_until_synced(fresh, 300, 60s);
  REQUIRE(took);
  // The stall is noticed after the 2 s stall timeout, not the 60 s request timeout.
  CHECK(*took < 10000);
  auto status = sync_status(fresh);
  REQUIRE(status);
  CHECK(caf::get_or(*status, "peers", std::int64_t{0}) == 1);
  // The peer manager recorded why node 2 was dropped.
  CHECK(caf::get_or(pool_status(fresh, status_verbosity::info), "closed-by-reason.stalling",
                    std::int64_t{0})
        == 1);
  MESSAGE("synced despite the silent peer in " << *took << " virtual ms");
}

TEST_CASE_FIXTURE(sim_fixture,
                  "simulation: addresses are rate-limited per peer and fresh ones relayed") {
  // A listens; C connects to it, then B. B advertises itself to A, A relays that to C.
  auto a = start_node("10.0.0.1", {}, 1);
  auto known_by = [&](const caf::actor& root) {
    auto s = request<status_report>(peers_of(root), status_atom::value, status_verbosity::info);
    REQUIRE(s);
    return caf::get_or(*s, "addresses-new", std::int64_t{0})
           + caf::get_or(*s, "addresses-tried", std::int64_t{0});
  };
  auto c = start_node("10.0.0.3", {"10.0.0.1:18444"}, 3);
  advance_in_steps(1s, 10ms);
  CHECK(known_by(c) == 0); // A knew nobody when C asked
  start_node("10.0.0.2", {"10.0.0.1:18444"}, 2);
  advance_in_steps(2s, 10ms);
  // C learned B's address from A's relay of B's self-advertisement.
  CHECK(known_by(c) == 1);
  // An inbound peer (B, at A) that floods addresses unasked gets one token plus 0.1 per second.
  auto pm_a = peers_of(a);
  auto status = request<status_report>(pm_a, status_atom::value, status_verbosity::detailed);
  REQUIRE(status);
  std::int64_t b_id = 0;
  for (const auto& p : caf::get_or(*status, "peers", caf::config_value::list{}))
    if (caf::get_or(caf::get<caf::settings>(p), "remote", std::string{}).rfind("10.0.0.2:", 0) == 0)
      b_id = caf::get_or(caf::get<caf::settings>(p), "id", std::int64_t{0});
  REQUIRE(b_id != 0);
  auto before = known_by(a);
  addr_message flood;
  for (int i = 0; i < 2000; ++i) {
    timed_address t;
    t.address.ip =
        ipv4(20, static_cast<std::uint8_t>(i / 250), static_cast<std::uint8_t>(i % 250), 1);
    t.address.port = 18444;
    flood.addresses.push_back(t);
  }
  self->send(pm_a, peer_msg_atom::value, static_cast<std::uint64_t>(b_id), p2p_message{flood});
  run();
  auto after = known_by(a);
  CHECK(after - before <= 1);
  // Ten virtual seconds later one more is welcome.
  advance(10s);
  self->send(pm_a, peer_msg_atom::value, static_cast<std::uint64_t>(b_id), p2p_message{flood});
  run();
  CHECK(known_by(a) - after <= 1);
}
