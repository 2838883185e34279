// Low-work header chains at whole nodes (actors/sync_presync over runtime/sync/headers_presync),
// on the simulator's in-memory network: Bitcoin Core's p2p_headers_sync_with_minchainwork and
// p2p_dos_header_tree, in virtual time. A chain below the chain spec's minimum chain work is
// followed in presync and dropped with nothing stored; one above it is presynced, downloaded
// again and synced; short low-work forks are ignored and their sender dropped as header spam.
#include "runtime/chain/header_tree.hpp"
#include "runtime/sync/headers_presync.hpp"
#include "support/node_simulation.hpp"

using namespace qtc;
using namespace qtc::test;
using namespace std::chrono_literals;

TEST_SUITE_BEGIN("security");

namespace {

struct low_work_fixture : sim_fixture {
  /// The chain work of height `n` on regtest (every header proves the same work).
  uint256 work_of_height(std::uint32_t n) const {
    return work_of_bits(spec->genesis_bits).times(n + 1);
  }
  void require_minimum_work(const uint256& work) {
    auto copy = *spec;
    copy.minimum_chain_work_hex = work.to_hex();
    spec = std::make_shared<const chain_spec>(copy);
  }
  std::size_t stored_headers(const caf::actor& node) {
    auto stored = request<std::vector<stored_header>>(
        caf::actor_cast<storage_actor>(component(node, "storage")), get_atom::value,
        headers_atom::value);
    REQUIRE(stored);
    return stored->size();
  }
  /// How often the node's security manager was told of offences of `kind`.
  std::int64_t offences_of(const caf::actor& node, const std::string& kind) {
    auto security =
        request<status_report>(caf::actor_cast<security_actor>(component(node, "security")),
                               status_atom::value, status_verbosity::detailed);
    REQUIRE(security);
    return caf::get_or(caf::get_or(*security, "offences", caf::settings{}), kind, std::int64_t{0});
  }
  /// Sessions the node's peer manager closed for `reason`.
  std::int64_t closed_for(const caf::actor& node, const std::string& reason) {
    return caf::get_or(pool_status(node, status_verbosity::info), "closed-by-reason." + reason,
                       std::int64_t{0});
  }
  /// A fresh node (10.0.0.9) synced to 300 blocks from 10.0.0.1, the id of that session, and
  /// the headers of another chain of 100 from genesis: a fork too short to be stored.
  struct synced_beside_fork {
    caf::actor fresh;
    std::uint64_t peer = 0;
    std::vector<block_header> fork;
  };
  synced_beside_fork sync_beside_short_fork() {
    mine(dir.path() / "10.0.0.1", 300);
    mine(dir.path() / "fork", 100, 7);
    synced_beside_fork r;
    r.fork = mined_headers(dir.path() / "fork", *spec);
    start_node("10.0.0.1", {}, 1);
    r.fresh = start_node("10.0.0.9", {"10.0.0.1:18444"}, 9);
    REQUIRE(run_until_synced(r.fresh, 300, 60s));
    r.peer = peer_id_at(r.fresh, "10.0.0.1");
    REQUIRE(r.peer != 0);
    return r;
  }
  caf::settings presync_of(const caf::actor& node) {
    auto s = sync_status(node);
    REQUIRE(s);
    return caf::get_or(*s, "low-work-headers", caf::settings{});
  }
};

} // namespace

TEST_CASE_FIXTURE(low_work_fixture,
                  "simulation: below the minimum chain work a chain is presynced and dropped "
                  "with nothing stored, above it, presynced, downloaded again and synced") {
  mine(dir.path() / "10.0.0.1", 2600);
  mine(dir.path() / "10.0.0.2", 2300, 7); // another chain from genesis, with less work
  require_minimum_work(work_of_height(2400));
  start_node("10.0.0.1", {}, 1);
  start_node("10.0.0.2", {}, 2);
  auto fresh = start_node("10.0.0.9", {"10.0.0.2:18444"}, 9);
  // Only the low-work peer: its 2000 + 300 headers are checked, then dropped. Twice: the peer
  // announces its tip as the session starts (its sync is complete), which does not connect,
  // and the fresh node asks from its tip again, as Core does; each answer is presynced anew.
  advance_in_steps(3s, 10ms);
  auto p = presync_of(fresh);
  auto started = caf::get_or(p, "started", std::int64_t{0});
  CHECK(started >= 1);
  CHECK(started <= 2);
  CHECK(caf::get_or(p, "dropped", std::int64_t{0}) == started);
  CHECK(caf::get_or(p, "active", std::int64_t{-1}) == 0);
  CHECK(caf::get_or(*sync_status(fresh), "headers", std::int64_t{-1}) == 0);
  CHECK(stored_headers(fresh) == 1); // genesis alone
  // A peer with enough work arrives (the operator adds it): presync, redownload, sync.
  self->send(peers_of(fresh), connect_atom::value, std::string{"10.0.0.1:18444"});
  auto took = run_until_synced(fresh, 2600, 120s);
  REQUIRE(took);
  p = presync_of(fresh);
  CHECK(caf::get_or(p, "completed", std::int64_t{0}) == 1);
  CHECK(caf::get_or(p, "failed", std::int64_t{-1}) == 0);
  CHECK(stored_headers(fresh) == 2601); // the honest chain's, none of the other's
  // Neither peer did anything wrong: a short chain is not an offence.
  CHECK(caf::get_or(pool_status(fresh), "bans", caf::config_value::list{}).empty());
  MESSAGE("synced 2600 blocks through presync in " << *took << " virtual ms");
}

TEST_CASE_FIXTURE(low_work_fixture,
                  "simulation: short low-work forks are ignored, never stored, and their sender "
                  "is dropped as header spam after ten") {
  auto [fresh, peer, fork] = sync_beside_short_fork();
  // 100 headers from genesis lead to less than our best less 144 blocks: ignored each time.
  headers_message msg;
  msg.headers.assign(fork.begin() + 1, fork.end());
  auto sync = *sync_of(fresh);
  for (int i = 0; i < 10; ++i) {
    self->send(sync, peer_msg_atom::value, peer, p2p_message{msg});
    run();
  }
  CHECK(caf::get_or(presync_of(fresh), "ignored-messages", std::int64_t{0}) == 10);
  CHECK(peer_id_at(fresh, "10.0.0.1") == peer);
  CHECK(stored_headers(fresh) == 301);
  // The eleventh: dropped as header spam, and the security manager charged it.
  self->send(sync, peer_msg_atom::value, peer, p2p_message{msg});
  advance_in_steps(1s, 10ms);
  CHECK(closed_for(fresh, "misbehaviour") == 1);
  CHECK(offences_of(fresh, "header-spam") == 1);
  CHECK(caf::get_or(*sync_status(fresh), "headers", std::int64_t{-1}) == 300);
  CHECK(stored_headers(fresh) == 301);
}

TEST_CASE_FIXTURE(low_work_fixture,
                  "simulation: a header that misses its own target is punished in a message the "
                  "node would drop unchecked: a short low-work fork or one that does not connect") {
  auto [fresh, peer, fork] = sync_beside_short_fork();
  headers_message msg;
  SUBCASE("a short low-work fork") {
    msg.headers.assign(fork.begin() + 1, fork.end());
  }
  SUBCASE("a message that does not connect") {
    msg.headers.assign(fork.begin() + 51, fork.end());
  }
  // The last header (so that the others still follow each other) with a nonce that misses.
  auto& last = msg.headers.back();
  auto limit = chain_params::from(*spec).pow_limit.to_big_endian();
  for (++last.nonce;; ++last.nonce)
    if (!check_proof_of_work(block_hash(last), last.bits, limit))
      break;
  self->send(*sync_of(fresh), peer_msg_atom::value, peer, p2p_message{msg});
  advance_in_steps(1s, 10ms);
  CHECK(closed_for(fresh, "invalid-data") == 1);
  CHECK(offences_of(fresh, "invalid-header") == 1);
  CHECK(caf::get_or(pool_status(fresh), "bans", caf::config_value::list{}).size() == 1);
  CHECK(peer_id_at(fresh, "10.0.0.1") == 0);
  CHECK(stored_headers(fresh) == 301);
}

TEST_SUITE_END();
