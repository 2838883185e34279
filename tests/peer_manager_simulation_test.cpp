// The peer manager on the simulator (whole nodes, in-memory network, virtual time): inbound
// eviction when the slots are full, feeler connections, replacement of an outbound peer that
// stays behind, and the per-peer score in the status.
#include "support/node_simulation.hpp"

using namespace qtc;
using namespace qtc::test;
using namespace std::chrono_literals;

namespace {

std::string ip_of(int subnet, int host) {
  return "10.0." + std::to_string(subnet) + "." + std::to_string(host);
}

/// The pool's ready peers, by remote address.
std::map<std::string, caf::settings> peers_by_remote(const caf::settings& status) {
  std::map<std::string, caf::settings> out;
  for (const auto& p : caf::get_or(status, "peers", caf::config_value::list{})) {
    const auto& entry = caf::get<caf::settings>(p);
    out.emplace(caf::get_or(entry, "remote", std::string{}), entry);
  }
  return out;
}

/// The recent closes with this reason.
std::vector<caf::settings> closes_with(const caf::settings& status, const std::string& reason) {
  std::vector<caf::settings> out;
  for (const auto& c : caf::get_or(status, "recent-closes", caf::config_value::list{})) {
    const auto& entry = caf::get<caf::settings>(c);
    if (caf::get_or(entry, "reason", std::string{}) == reason)
      out.push_back(entry);
  }
  return out;
}

std::vector<discovered_peer> addresses(const std::vector<std::string>& ips) {
  std::vector<discovered_peer> out;
  for (const auto& ip : ips) {
    discovered_peer p;
    p.ip = *parse_ip(ip);
    p.port = 18444;
    p.source = "test";
    out.push_back(p);
  }
  return out;
}

auto only_full_relay(std::uint32_t slots) {
  return [slots](peer_pool_options& pool) {
    pool.full_relay_slots = slots;
    pool.block_relay_slots = 0;
    pool.feeler_interval = 0s;
  };
}

} // namespace

TEST_CASE_FIXTURE(sim_fixture, "simulation: a newcomer evicts an unprotected inbound peer") {
  // A has 30 inbound slots and no outbound ones; 30 nodes fill them, one second apart, each
  // from its own /24 (the chain spec allows at most 10 inbound peers per subnet).
  auto a = start_node(ip_of(1, 1), {}, 1, {}, [](peer_pool_options& pool) {
    pool.full_relay_slots = 0;
    pool.block_relay_slots = 0;
    pool.max_connections = 30;
  });
  std::vector<std::string> order;
  for (int i = 1; i <= 30; ++i) {
    order.push_back(ip_of(100 + i, 1));
    start_node(order.back(), {ip_of(1, 1) + ":18444"}, static_cast<std::uint8_t>(10 + i));
    advance_in_steps(1s, 10ms);
  }
  auto status = pool_status(a);
  REQUIRE(caf::get_or(status, "inbound", std::int64_t{0}) == 30);
  CHECK(caf::get_or(status, "inbound-evicted", std::int64_t{0}) == 0);
  // The 31st finds the slots full: one inbound peer makes room for it.
  start_node(ip_of(131, 1), {ip_of(1, 1) + ":18444"}, 41);
  advance_in_steps(1s, 10ms);
  status = pool_status(a);
  CHECK(caf::get_or(status, "inbound-evicted", std::int64_t{0}) == 1);
  CHECK(caf::get_or(status, "inbound-refused", std::int64_t{0}) == 0);
  auto evicted = closes_with(status, "evicted");
  REQUIRE(evicted.size() == 1);
  auto victim = caf::get_or(evicted[0], "remote", std::string{});
  auto victim_ip = victim.substr(0, victim.find(':'));
  // Protected: 4 by keyed group, 8 fastest/oldest, 8 more oldest (no txs or blocks yet), then
  // half of the rest by uptime. The victim is one of the newest connections.
  auto rank = std::find(order.begin(), order.end(), victim_ip) - order.begin();
  CHECK_MESSAGE(rank >= 22, "evicted " << victim << ", connection number " << rank + 1);
  // The newcomer is in; the victim is not (its own node retries later, as a manual peer).
  bool newcomer = false, victim_present = false;
  for (const auto& [remote, p] : peers_by_remote(status)) {
    newcomer |= remote.rfind(ip_of(131, 1) + ":", 0) == 0
                && caf::get_or(p, "state", std::string{}) == "ready";
    victim_present |= remote == victim;
  }
  CHECK(newcomer);
  CHECK_FALSE(victim_present);
}

TEST_CASE_FIXTURE(sim_fixture, "simulation: feelers move working addresses to the tried table") {
  for (int i = 2; i <= 4; ++i)
    start_node(ip_of(3, i), {}, static_cast<std::uint8_t>(i));
  auto f = start_node(ip_of(3, 1), {}, 1, {}, [](peer_pool_options& pool) {
    pool.full_relay_slots = 1;
    pool.block_relay_slots = 0;
    pool.feeler_interval = 10s;
  });
  // Addresses from "discovery": two work, one (3.9) has no node behind it.
  self->send(peers_of(f), found_atom::value,
             addresses({ip_of(3, 2), ip_of(3, 3), ip_of(3, 4), ip_of(3, 9)}));
  advance_in_steps(2min, 10ms);
  auto status = pool_status(f);
  // One outbound slot, filled; feelers tested the other addresses meanwhile.
  CHECK(caf::get_or(status, "outbound-full-relay", std::int64_t{0}) == 1);
  CHECK(caf::get_or(status, "feelers-started", std::int64_t{0}) >= 2);
  CHECK(caf::get_or(status, "feelers-succeeded", std::int64_t{0}) >= 1);
  // The slot's peer and the feelers' successes are in tried; the dead address never is.
  CHECK(caf::get_or(status, "addresses-tried", std::int64_t{0}) >= 2);
  auto feeler_closes = closes_with(status, "unwanted");
  REQUIRE_FALSE(feeler_closes.empty());
  for (const auto& c : feeler_closes) {
    CHECK(caf::get_or(c, "type", std::string{}) == "feeler");
    CHECK(caf::get_or(c, "detail", std::string{}) == "feeler: the address works");
  }
  // A feeler is not a peer: the sync coordinator never heard of one.
  auto sync = sync_status(f);
  REQUIRE(sync);
  CHECK(caf::get_or(*sync, "peers", std::int64_t{-1}) == 1);
}

TEST_CASE_FIXTURE(sim_fixture,
                  "simulation: an outbound peer that stays behind is probed, then replaced") {
  mine(dir.path() / ip_of(4, 1), 50);
  // Two silent peers at height 0: they accept connections and never answer headers requests
  // (the network drops their traffic), so nothing shows they caught up.
  auto f = start_node(ip_of(4, 1), {}, 1, {}, [](peer_pool_options& pool) {
    only_full_relay(1)(pool);
    pool.poor_peer_timeout = 30s;
  });
  start_node(ip_of(4, 2), {}, 2);
  start_node(ip_of(4, 3), {}, 3);
  self->send(peers_of(f), found_atom::value, addresses({ip_of(4, 2), ip_of(4, 3)}));
  advance_in_steps(2s, 10ms);
  auto first = peers_by_remote(pool_status(f));
  REQUIRE(first.size() == 1);
  auto first_remote = first.begin()->first;
  auto first_ip = first_remote.substr(0, first_remote.find(':'));
  // It syncs our 50 blocks from us; then it goes silent, so it can never show it caught up.
  advance_in_steps(3s, 10ms);
  self->send(net, close_atom::value, first_ip);
  // Behind for 30 s: probed; still behind 2 min later: replaced by the other address.
  advance_in_steps(30s + 2min + 20s, 50ms);
  auto status = pool_status(f);
  CHECK(caf::get_or(status, "outbound-replaced", std::int64_t{0}) >= 1);
  auto replaced = closes_with(status, "unwanted");
  REQUIRE_FALSE(replaced.empty());
  CHECK(caf::get_or(replaced[0], "remote", std::string{}) == first_remote);
  CHECK(caf::get_or(replaced[0], "detail", std::string{}).rfind("replaced: behind our chain", 0)
        == 0);
  auto now = peers_by_remote(status);
  REQUIRE(now.size() == 1);
  CHECK(now.begin()->first != first_remote);
}

TEST_CASE_FIXTURE(sim_fixture, "simulation: a peer that caught up answers the probe and stays") {
  mine(dir.path() / ip_of(5, 1), 50);
  auto f = start_node(ip_of(5, 1), {}, 1, {}, [](peer_pool_options& pool) {
    only_full_relay(1)(pool);
    pool.poor_peer_timeout = 30s;
  });
  auto p = start_node(ip_of(5, 2), {}, 2);
  start_node(ip_of(5, 3), {}, 3);
  self->send(peers_of(f), found_atom::value, addresses({ip_of(5, 2)}));
  advance_in_steps(30s + 2min + 20s, 50ms);
  // The peer synced our chain from us and told us so when probed: kept, with its score showing
  // our height as its best.
  CHECK(blocks_of(p) == 50);
  auto status = pool_status(f);
  CHECK(caf::get_or(status, "outbound-replaced", std::int64_t{0}) == 0);
  auto now = peers_by_remote(status);
  REQUIRE(now.size() == 1);
  auto score = caf::get_or(now.begin()->second, "score", caf::settings{});
  CHECK(caf::get_or(score, "best-height", std::int64_t{0}) == 50);
  CHECK(caf::get_or(score, "messages-received", std::int64_t{0}) > 0);
  CHECK(caf::get_or(score, "bytes-received", std::int64_t{0}) > 0);
  CHECK(caf::get_or(score, "min-ping-ms", -1.0) >= 0.0);
}

TEST_CASE_FIXTURE(sim_fixture, "simulation: the score counts what a peer delivered") {
  mine(dir.path() / ip_of(6, 1), 120);
  start_node(ip_of(6, 1), {}, 1);
  auto fresh = start_node(ip_of(6, 9), {ip_of(6, 1) + ":18444"}, 9);
  REQUIRE(run_until_synced(fresh, 120, 30s));
  advance_in_steps(6s, 10ms); // the next reports (sync: every second; session: every 5 s)
  auto peers = peers_by_remote(pool_status(fresh));
  REQUIRE(peers.size() == 1);
  auto score = caf::get_or(peers.begin()->second, "score", caf::settings{});
  CHECK(caf::get_or(score, "useful-headers", std::int64_t{0}) == 120);
  CHECK(caf::get_or(score, "useful-blocks", std::int64_t{0}) == 120);
  CHECK(caf::get_or(score, "best-height", std::int64_t{0}) == 120);
  CHECK(caf::get_or(score, "seconds-since-block", std::int64_t{-1}) >= 0);
  // Our own traffic is counted too: the blocks were ~120 x 0.4 KB at least.
  CHECK(caf::get_or(score, "bytes-received", std::int64_t{0}) > 120 * 400);
}

TEST_CASE_FIXTURE(sim_fixture,
                  "simulation: a node short of addresses asks its DNS seeds again and fills up") {
  // The seeds (answered by a table, 50 ms per query) first know one node; the node wants two
  // outbound peers, so a slot stays empty and discovery is asked again once a minute.
  auto dns = std::make_shared<table_resolver>(50ms);
  auto a_record = [&](std::vector<std::string> ips) {
    table_resolver::entry e;
    e.ttl = 30;
    for (const auto& ip : ips)
      e.records.push_back(dns_record{*parse_ip(ip), "", 0, ""});
    dns->set("seed1.regtest.quantumcoin.test", dns_type::a, e);
  };
  a_record({ip_of(7, 1)});
  mine(dir.path() / ip_of(7, 1), 40);
  mine(dir.path() / ip_of(7, 2), 40);
  start_node(ip_of(7, 1), {}, 1);
  start_node(ip_of(7, 2), {}, 2);
  auto fresh = start_node(
      ip_of(7, 9), {}, 9, {}, [](peer_pool_options& pool) { only_full_relay(2)(pool); }, dns);
  advance_in_steps(20s, 10ms);
  auto status = pool_status(fresh);
  CHECK(caf::get_or(status, "outbound-full-relay", std::int64_t{0}) == 1);
  CHECK(caf::get_or(status, "discovery-refreshes", std::int64_t{0}) == 0);
  CHECK(blocks_of(fresh) == 40); // the one peer it found serves the chain
  // The seed learns of a second node; the next refresh (the answer's 30 s TTL has run out by
  // then) finds it and the empty slot is filled.
  a_record({ip_of(7, 1), ip_of(7, 2)});
  advance_in_steps(60s, 10ms);
  status = pool_status(fresh);
  CHECK(caf::get_or(status, "discovery-refreshes", std::int64_t{0}) >= 1);
  CHECK(caf::get_or(status, "outbound-full-relay", std::int64_t{0}) == 2);
  auto peers = peers_by_remote(status);
  CHECK(peers.contains(ip_of(7, 2) + ":18444"));
}

TEST_CASE_FIXTURE(sim_fixture,
                  "simulation: seeds that cannot be reached are retried in rounds, not in a loop") {
  // Every query of both seeds fails as "unreachable" (a resolver that refuses, as on a machine
  // with no DNS server). Each (seed, type) is asked once and retried 5 times with a doubling
  // backoff (1+2+4+8+16 s), then rests 60 s before the next round: 6 queries per ~91 s. Before
  // the rest existed, a spent round left its retry time in the past and every 5 ms poll asked
  // again, for as long as the node ran.
  auto dns = std::make_shared<table_resolver>(50ms);
  for (const auto& seed : spec->dns_seeds)
    for (auto type : {dns_type::a, dns_type::aaaa, dns_type::srv, dns_type::txt})
      dns->set(seed, type, table_resolver::entry{dns_failure::unreachable, {}, 60});
  const auto keys = spec->dns_seeds.size() * 4;
  auto node = start_node(ip_of(8, 1), {}, 1, {}, only_full_relay(2), dns);
  advance_in_steps(40s, 100ms);
  CHECK(dns->queries() == keys * 6); // the first round, and nothing more yet
  advance_in_steps(560s, 100ms);     // 10 minutes in all
  // The first round ends at ~31 s; after it, one round per ~91 s: 6 or 7 rounds in 10 minutes.
  CHECK(dns->queries() >= keys * 6 * 6);
  CHECK(dns->queries() <= keys * 6 * 7);
  auto seeder = component(node, qtc::component<discovery_actor>::name);
  auto status = request<status_report>(caf::actor_cast<discovery_actor>(seeder), status_atom::value,
                                       status_verbosity::info);
  REQUIRE(status);
  // Every answer counted as a failure (the last round's may still be under way).
  auto failures = static_cast<std::size_t>(caf::get_or(*status, "failures", std::int64_t{0}));
  CHECK(failures <= dns->queries());
  CHECK(failures + keys >= dns->queries());
}
