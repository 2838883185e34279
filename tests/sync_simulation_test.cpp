// Whole nodes (storage, sync coordinator, peer manager, peer sessions with Noise) on the
// simulator's in-memory network, in virtual time: a fresh node syncs from serving nodes, a
// silent peer is detected as stalling and sync completes from the others, a peer whose headers
// turn invalid is dropped without losing the valid ones it sent first; transactions are relayed,
// honouring feefilter; compact blocks, low and high bandwidth (blocks submitted to a node).
#include "actors/support/unix_clock.hpp"
#include "messages/primitives/hex.hpp"
#include "runtime/chain/header_tree.hpp"
#include "runtime/chain/pow.hpp"
#include "support/node_simulation.hpp"
#include "support/tx_fixtures.hpp"

#include <ctime>
#include <sstream>

using namespace qtc;
using namespace qtc::test;
using namespace std::chrono_literals;

TEST_CASE_FIXTURE(sim_fixture, "simulation: a fresh node syncs 300 blocks from two serving nodes") {
  mine(dir.path() / "10.0.0.1", 300);
  mine(dir.path() / "10.0.0.2", 300);
  auto a = start_node("10.0.0.1", {}, 1);
  auto b = start_node("10.0.0.2", {}, 2);
  auto fresh = start_node("10.0.0.9", {"10.0.0.1:18444", "10.0.0.2:18444"}, 9);
  auto lone = start_node("10.0.0.8", {}, 8);
  CHECK(blocks_of(a) == 300);
  CHECK(blocks_of(fresh) == 0);
  auto took = run_until_synced(fresh, 300, 60s);
  REQUIRE(took);
  auto status = sync_status(fresh);
  REQUIRE(status);
  CHECK(caf::get_or(*status, "state", std::string{}) == "synced");
  // A node at height 0 that has heard of no headers (no peers) has not synced.
  CHECK(caf::get_or(*sync_status(lone), "state", std::string{}) == "syncing");
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

TEST_CASE_FIXTURE(sim_fixture, "simulation: headers before an invalid one are kept and stored, "
                               "the sender is dropped as invalid-data and banned") {
  mine(dir.path() / "10.0.0.1", 300);
  mine(dir.path() / "10.0.0.2", 300);
  // The same chain (same seed) once more, to read headers from while the nodes hold theirs.
  mine(dir.path() / "source", 300);
  auto chain = mined_headers(dir.path() / "source", *spec);
  REQUIRE(chain.size() == 301);
  start_node("10.0.0.1", {}, 1);
  start_node("10.0.0.2", {}, 2);
  auto fresh = start_node("10.0.0.9", {"10.0.0.1:18444", "10.0.0.2:18444"}, 9);
  // As soon as node 1's session is ready at the fresh node, and before any headers arrived (they
  // are a 40 ms round trip away), node 1 "sends" headers 1..150 and then a header 151 whose hash
  // misses its target.
  std::int64_t node1 = 0;
  for (int i = 0; i < 500 && node1 == 0; ++i) {
    advance(1ms);
    if (auto status = sync_status(fresh))
      for (const auto& p : caf::get_or(*status, "peer-state", caf::config_value::list{}))
        if (caf::get_or(caf::get<caf::settings>(p), "remote", std::string{}) == "10.0.0.1:18444")
          node1 = caf::get_or(caf::get<caf::settings>(p), "id", std::int64_t{0});
  }
  REQUIRE(node1 != 0);
  REQUIRE(caf::get_or(*sync_status(fresh), "headers", std::int64_t{-1}) == 0);
  headers_message msg;
  msg.headers.assign(chain.begin() + 1, chain.begin() + 152);
  auto limit = chain_params::from(*spec).pow_limit.to_big_endian();
  auto& bad = msg.headers.back();
  do
    ++bad.nonce;
  while (check_proof_of_work(block_hash(bad), bad.bits, limit));
  self->send(caf::actor_cast<sync_actor>(component(fresh, "sync")), peer_msg_atom::value,
             static_cast<std::uint64_t>(node1), p2p_message{msg});
  run();
  CHECK(caf::get_or(*sync_status(fresh), "headers", std::int64_t{-1}) == 150);
  REQUIRE(run_until_synced(fresh, 300, 60s));
  // Node 2 sent the first 150 headers again, as duplicates: the store has them only because
  // they were stored when node 1's message brought them.
  auto stored = request<std::vector<stored_header>>(
      caf::actor_cast<storage_actor>(component(fresh, "storage")), get_atom::value,
      headers_atom::value);
  REQUIRE(stored);
  CHECK(stored->size() == 301);
  auto pm = pool_status(fresh, status_verbosity::info);
  CHECK(caf::get_or(pm, "closed-by-reason.invalid-data", std::int64_t{0}) == 1);
  CHECK(caf::get_or(pm, "banned", std::int64_t{0}) == 1);
  // The ban names the violation: the violation part of that address's score.
  auto bans = caf::get_or(pool_status(fresh), "bans", caf::config_value::list{});
  REQUIRE(bans.size() == 1);
  const auto& ban = caf::get<caf::settings>(bans[0]);
  CHECK(caf::get_or(ban, "violations", std::int64_t{0}) == 1);
  CHECK(caf::get_or(ban, "last-violation", std::string{}).rfind("invalid-data: ", 0) == 0);
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
  // The flood went to A's security manager as addr-flood, once for both messages (a minute).
  auto security = request<status_report>(caf::actor_cast<security_actor>(component(a, "security")),
                                         status_atom::value, status_verbosity::info);
  REQUIRE(security);
  CHECK(caf::get_or(*security, "offences.addr-flood", std::int64_t{0}) == 1);
}

TEST_CASE_FIXTURE(sim_fixture, "simulation: a transaction is relayed by inv/getdata/tx, and a "
                               "peer's feefilter is honoured") {
  // B and C connect to A. A transaction "from B" reaches A's coordinator; A announces it to C
  // (not back to B), C asks for it and pools it.
  auto a = start_node("10.0.0.1", {}, 1);
  auto b = start_node("10.0.0.2", {"10.0.0.1:18444"}, 2);
  auto c = start_node("10.0.0.3", {"10.0.0.1:18444"}, 3);
  advance_in_steps(2s, 10ms);
  auto pool_of = [&](const caf::actor& root) {
    auto s = sync_status(root);
    REQUIRE(s);
    return caf::get_or(*s, "pool-txs", std::int64_t{-1});
  };
  auto b_id = peer_id_at(a, "10.0.0.2");
  auto c_id = peer_id_at(a, "10.0.0.3");
  REQUIRE(b_id != 0);
  REQUIRE(c_id != 0);
  auto found = sync_of(a);
  REQUIRE(found);
  auto sync_a = *found;
  auto from_b = [&](const transaction& tx) {
    self->send(sync_a, peer_msg_atom::value, b_id, p2p_message{tx_message{tx}});
    advance_in_steps(1s, 10ms);
  };

  from_b(test::spend_of(1));
  CHECK(pool_of(a) == 1);
  CHECK(pool_of(c) == 1); // inv -> getdata -> tx over the Noise sessions
  CHECK(pool_of(b) == 0); // not announced back to where it came from
  // C does not announce it back to A either (A is known to have it): A still counts one.
  CHECK(caf::get_or(*sync_status(a), "txs-accepted", std::int64_t{0}) == 1);

  // C asks for transactions paying at least 1000 per kB: this node cannot know any fee, so C
  // hears of no more transactions until it lifts the filter.
  self->send(sync_a, peer_msg_atom::value, c_id, p2p_message{feefilter_message{1000}});
  from_b(test::spend_of(2));
  CHECK(pool_of(a) == 2);
  CHECK(pool_of(c) == 1);
  self->send(sync_a, peer_msg_atom::value, c_id, p2p_message{feefilter_message{0}});
  from_b(test::spend_of(3));
  CHECK(pool_of(a) == 3);
  CHECK(pool_of(c) == 2);
  // An invalid transaction is counted and not relayed.
  from_b(test::coinbase_at(9));
  CHECK(pool_of(a) == 3);
  CHECK(caf::get_or(*sync_status(a), "txs-rejected", std::int64_t{0}) == 1);
  CHECK(pool_of(c) == 2);
}

TEST_CASE_FIXTURE(sim_fixture, "simulation: an announced transaction is asked of one announcer at "
                               "a time, inbound ones after 2 s, the next one after a notfound") {
  // B and C connect to A, so both are inbound at A. C holds a transaction T, B does not; both
  // announce T to A, B first. A asks B only (one request per txid), and not before 2 s (inbound
  // delay); B answers notfound; on a later tick A asks C, which delivers.
  auto a = start_node("10.0.0.1", {}, 1);
  auto b = start_node("10.0.0.2", {"10.0.0.1:18444"}, 2);
  auto c = start_node("10.0.0.3", {"10.0.0.1:18444"}, 3);
  advance_in_steps(2s, 10ms);
  auto stat = [&](const caf::actor& node, const char* key) {
    auto s = sync_status(node);
    REQUIRE(s);
    return caf::get_or(*s, key, std::int64_t{-1});
  };
  auto sync_a = *sync_of(a);
  auto tx = test::spend_of(7);
  // T reaches C "from A": C pools it and announces it to no one (A is its only peer).
  self->send(*sync_of(c), peer_msg_atom::value, peer_id_at(c, "10.0.0.1"),
             p2p_message{tx_message{tx}});
  advance_in_steps(100ms, 10ms);
  REQUIRE(stat(c, "pool-txs") == 1);
  REQUIRE(stat(a, "pool-txs") == 0);
  inv_message inv{{inv_item{static_cast<std::uint32_t>(inv_type::tx), txid(tx)}}};
  self->send(sync_a, peer_msg_atom::value, peer_id_at(a, "10.0.0.2"), p2p_message{inv});
  self->send(sync_a, peer_msg_atom::value, peer_id_at(a, "10.0.0.3"), p2p_message{inv});
  // Watch A's requests for T every 10 ms: never two at once, the first not before 2 s.
  std::int64_t most_in_flight = 0;
  std::optional<caf::timespan> first_request;
  for (auto waited = caf::timespan{0}; waited < caf::timespan{5s}; waited += 10ms) {
    auto n = stat(a, "tx-requests-in-flight");
    most_in_flight = std::max(most_in_flight, n);
    if (n > 0 && !first_request)
      first_request = waited;
    if (waited == caf::timespan{1500ms})
      CHECK(stat(a, "tx-requests-tracked") == 1); // tracked, not yet asked
    advance_in_steps(10ms, 10ms);
  }
  CHECK(most_in_flight == 1);
  REQUIRE(first_request);
  CHECK(*first_request >= caf::timespan{2s});
  CHECK(stat(a, "pool-txs") == 1); // B said notfound, C was asked next and delivered
  CHECK(stat(a, "tx-requests-tracked") == 0);
  CHECK(stat(a, "tx-requests-in-flight") == 0);
  CHECK(stat(a, "tx-requests-expired") == 0);
  CHECK(stat(a, "txs-accepted") == 1);
}

TEST_CASE_FIXTURE(sim_fixture, "simulation: the block past the tip comes as a compact block, its "
                               "transactions by getblocktxn") {
  // The same generated chain, one block longer at A. B, one block behind, fetches that block as
  // a cmpctblock; its pool is empty, so every transaction but the coinbase comes by getblocktxn.
  mine(dir.path() / "10.0.0.1", 301);
  mine(dir.path() / "10.0.0.2", 300);
  auto a = start_node("10.0.0.1", {}, 1);
  auto b = start_node("10.0.0.2", {"10.0.0.1:18444"}, 2);
  REQUIRE(blocks_of(b) == 300);
  REQUIRE(run_until_synced(b, 301, 10s));
  auto tip = caf::get_or(*sync_status(a), "tip", std::string{});
  CHECK(caf::get_or(*sync_status(b), "tip", std::string{"?"}) == tip);

  // The block as A stores it.
  auto storage = request<caf::actor>(caf::actor_cast<supervisor_actor>(a), whereis_atom::value,
                                     std::string{"storage"});
  REQUIRE(storage);
  hash256 hash{};
  REQUIRE(from_display_hex(tip, hash));
  auto raw = request<bytes>(caf::actor_cast<storage_actor>(*storage), get_atom::value,
                            block_atom::value, hash);
  REQUIRE(raw);
  byte_reader r{*raw};
  auto stored = read_block(r, 100'000);
  REQUIRE(r.ok());
  REQUIRE(stored.txs.size() > 1);

  auto sb = *sync_status(b);
  CHECK(caf::get_or(sb, "compact-rebuilt", std::int64_t{0}) == 1);
  CHECK(caf::get_or(sb, "compact-from-pool", std::int64_t{-1}) == 0);
  CHECK(caf::get_or(sb, "compact-requested-txs", std::int64_t{0})
        == static_cast<std::int64_t>(stored.txs.size() - 1));
  CHECK(caf::get_or(sb, "compact-fallbacks", std::int64_t{-1}) == 0);
  CHECK(caf::get_or(*sync_status(a), "compact-served", std::int64_t{0}) == 1);
}

namespace {

/// The first `n` blocks after genesis of the generated chain (the chain `mine` stores), each
/// serialized: block N+1 of a node mined with N blocks is element N.
std::vector<bytes> generated_blocks(int n) {
  auto r =
      run_to_completion(QTC_CHAINGEN_BINARY,
                        {"--chain-spec=" + (sim_source_dir / "config" / "regtest.toml").string(),
                         "--blocks=" + std::to_string(n), "--txs=2", "--print-hex"},
                        60s);
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  std::vector<bytes> out;
  std::istringstream lines{r.output};
  for (std::string line; std::getline(lines, line);)
    if (auto raw = from_hex(line); raw && raw->size() > 80)
      out.push_back(std::move(*raw));
  REQUIRE(out.size() == static_cast<std::size_t>(n));
  return out;
}

/// The id under which `root`'s sync coordinator knows the peer at `ip`, and whether that peer
/// asked for high-bandwidth compact blocks.
std::pair<std::uint64_t, bool> peer_at(const caf::settings& status, const std::string& ip) {
  for (const auto& p : caf::get_or(status, "peer-state", caf::config_value::list{})) {
    const auto& e = caf::get<caf::settings>(p);
    if (caf::get_or(e, "remote", std::string{}).rfind(ip + ":", 0) == 0)
      return {static_cast<std::uint64_t>(caf::get_or(e, "id", std::int64_t{0})),
              caf::get_or(e, "wants-compact-push", false)};
  }
  FAIL("no peer " << ip);
  return {0, false};
}

} // namespace

TEST_CASE_FIXTURE(sim_fixture, "simulation: after sync, the peer that first delivered a new block "
                               "becomes high bandwidth and pushes the next one as cmpctblock") {
  // A and B hold the same 300 blocks; B is connected to A. Blocks 301 and 302 of the same
  // generated chain are submitted to A.
  mine(dir.path() / "10.0.0.1", 300);
  mine(dir.path() / "10.0.0.2", 300);
  auto blocks = generated_blocks(303);
  auto a = start_node("10.0.0.1", {}, 1);
  auto b = start_node("10.0.0.2", {"10.0.0.1:18444"}, 2);
  advance_in_steps(3s, 10ms);
  REQUIRE(blocks_of(a) == 300);
  REQUIRE(blocks_of(b) == 300);
  auto sync_a = *sync_of(a);
  auto sync_b = *sync_of(b);
  auto counter = [&](const caf::actor& root, const std::string& name) {
    auto s = sync_status(root);
    REQUIRE(s);
    return caf::get_or(*s, name, std::int64_t{-1});
  };

  // Submission errors: not a block, not the next block, an invalid body (its header must not
  // become our best).
  CHECK_FALSE(request<hash256>(sync_a, put_atom::value, block_atom::value, bytes{1, 2, 3}));
  CHECK_FALSE(request<hash256>(sync_a, put_atom::value, block_atom::value, blocks[301]));
  {
    byte_reader r{blocks[300]};
    auto bad = read_block(r, 100'000);
    REQUIRE(r.ok());
    REQUIRE(bad.txs.size() > 1);
    bad.txs[1].lock_time += 1; // no longer what the merkle root commits to
    CHECK_FALSE(request<hash256>(sync_a, put_atom::value, block_atom::value, serialize(bad)));
    CHECK(counter(a, "headers") == 300);
  }

  // Block 301: B has not asked A for high bandwidth (nobody has delivered a new block to it
  // yet), so A announces it by headers and B fetches it (getdata type 4, getblocktxn).
  CHECK_FALSE(peer_at(*sync_status(a), "10.0.0.2").second);
  REQUIRE(request<hash256>(sync_a, put_atom::value, block_atom::value, blocks[300]));
  REQUIRE(run_until_synced(b, 301, 10s));
  CHECK(counter(a, "compact-announced") == 0);
  CHECK(counter(a, "compact-served") == 1);
  CHECK(counter(b, "compact-unsolicited") == 0);
  // A delivered B's new tip first: B made it high bandwidth with sendcmpct(true, 1).
  CHECK(counter(b, "high-bandwidth-peers") == 1);
  advance_in_steps(200ms, 10ms);
  CHECK(peer_at(*sync_status(a), "10.0.0.2").second);

  // Block 302's transactions in both pools (as if relayed earlier).
  byte_reader r{blocks[301]};
  auto next = read_block(r, 100'000);
  REQUIRE(r.ok());
  REQUIRE(next.txs.size() > 1);
  auto b_at_a = peer_at(*sync_status(a), "10.0.0.2").first;
  auto a_at_b = peer_at(*sync_status(b), "10.0.0.1").first;
  for (std::size_t k = 1; k < next.txs.size(); ++k) {
    self->send(sync_a, peer_msg_atom::value, b_at_a, p2p_message{tx_message{next.txs[k]}});
    self->send(sync_b, peer_msg_atom::value, a_at_b, p2p_message{tx_message{next.txs[k]}});
  }
  advance_in_steps(500ms, 10ms);
  auto in_pool = static_cast<std::int64_t>(next.txs.size() - 1);
  REQUIRE(counter(b, "pool-txs") == in_pool);
  auto requested_before = counter(b, "compact-requested-txs");

  // Block 302: pushed to B as cmpctblock, no headers/getdata round trip, rebuilt from B's pool.
  REQUIRE(request<hash256>(sync_a, put_atom::value, block_atom::value, blocks[301]));
  REQUIRE(run_until_synced(b, 302, 10s));
  CHECK(caf::get_or(*sync_status(b), "tip", std::string{"?"})
        == caf::get_or(*sync_status(a), "tip", std::string{}));
  CHECK(counter(a, "compact-announced") == 1);
  CHECK(counter(a, "compact-served") == 2); // the push; no getdata type 4 for 302
  CHECK(counter(b, "compact-unsolicited") == 1);
  CHECK(counter(b, "compact-rebuilt") == 2);
  CHECK(counter(b, "compact-from-pool") == in_pool);
  CHECK(counter(b, "compact-requested-txs") == requested_before);
  CHECK(counter(b, "compact-fallbacks") == 0);
  CHECK(counter(b, "pool-txs") == 0); // confirmed: they left the pool
  CHECK(counter(a, "pool-txs") == 0);
}

TEST_CASE_FIXTURE(sim_fixture, "simulation: address relay as Bitcoin Core's p2p_addr_relay: "
                               "small fresh announcements go to two other peers, not back, old "
                               "or large ones are kept but not relayed") {
  // A dials B; C and D dial A (so A's getaddr to B, and C's and D's to A, grant the address
  // budget a relay needs: 1000 at once).
  start_node("10.0.0.2", {}, 2);
  auto a = start_node("10.0.0.1", {"10.0.0.2:18444"}, 1);
  auto c = start_node("10.0.0.3", {"10.0.0.1:18444"}, 3);
  auto d = start_node("10.0.0.4", {"10.0.0.1:18444"}, 4);
  auto b = roots.front();
  advance_in_steps(3s, 10ms);
  auto known_by = [&](const caf::actor& root) {
    auto s = request<status_report>(peers_of(root), status_atom::value, status_verbosity::info);
    REQUIRE(s);
    return caf::get_or(*s, "addresses-new", std::int64_t{0})
           + caf::get_or(*s, "addresses-tried", std::int64_t{0});
  };
  auto b_at_a = peer_id_at(a, "10.0.0.2");
  REQUIRE(b_at_a != 0);
  // The nodes' Unix time: the simulated epoch plus the virtual clock (actors/support/unix_clock).
  auto now = static_cast<std::uint32_t>(unix_clock{sched.clock()}.now());
  std::uint8_t next = 1;
  auto addresses = [&](std::size_t n, std::uint32_t time) {
    addr_message m;
    for (std::size_t i = 0; i < n; ++i) {
      timed_address t;
      t.time = time;
      t.address.services = 1;
      // Each in its own /16: the address manager buckets by group, and a collision in a bucket
      // would drop one (as in Core), which is not what this test is about.
      t.address.ip = ipv4(static_cast<std::uint8_t>(30 + i), next, 1, 1);
      t.address.port = 18444;
      m.addresses.push_back(t);
    }
    ++next;
    return p2p_message{m};
  };
  auto from_b = [&](p2p_message m) {
    self->send(peers_of(a), peer_msg_atom::value, b_at_a, std::move(m));
    advance_in_steps(1s, 10ms);
  };
  auto before = std::array{known_by(a), known_by(b), known_by(c), known_by(d)};
  // What each of A, B, C, D learned since `before`, as "a b c d".
  auto grew = [&] {
    return std::to_string(known_by(a) - before[0]) + " " + std::to_string(known_by(b) - before[1])
           + " " + std::to_string(known_by(c) - before[2]) + " "
           + std::to_string(known_by(d) - before[3]);
  };
  // Ten fresh addresses: kept by A and relayed to both others, not back to B.
  from_b(addresses(10, now));
  CHECK(grew() == "10 0 10 10");
  // Ten an hour old: kept, not relayed.
  from_b(addresses(10, now - 3600));
  CHECK(grew() == "20 0 10 10");
  // Eleven fresh ones in one message (a getaddr answer, not an announcement): not relayed.
  from_b(addresses(11, now));
  CHECK(grew() == "31 0 10 10");
}

TEST_CASE_FIXTURE(sim_fixture, "simulation: a node whose only peer was empty at the handshake "
                               "hears of the peer's chain when the peer's sync completes") {
  // C's one peer B has nothing when they meet; B then syncs 50 blocks from A. Found by qtc-sim:
  // such nodes waited for the 20-minute poor-peer replacement, then (with the stale-header
  // rounds) a minute. B announces its tip once its sync completes, as Bitcoin Core does once it
  // leaves initial download, and C asks it at once.
  mine(dir.path() / "10.0.0.1", 50);
  auto b = start_node("10.0.0.2", {"10.0.0.1:18444"}, 2); // A is not there yet: retried every 5 s
  auto c = start_node("10.0.0.3", {"10.0.0.2:18444"}, 3);
  advance_in_steps(3s, 10ms);
  REQUIRE(peer_id_at(c, "10.0.0.2") != 0);
  CHECK(blocks_of(c) == 0);
  start_node("10.0.0.1", {}, 1);
  auto b_took = run_until_synced(b, 50, 30s);
  REQUIRE(b_took);
  // A second after B: an announcement and a round trip for 50 headers and blocks, where the
  // stale-header round would have waited until a minute after C's start.
  auto c_took = run_until_synced(c, 50, 1s);
  REQUIRE(c_took);
  MESSAGE("B synced in " << *b_took << " virtual ms, C " << *c_took << " ms after it");
}
