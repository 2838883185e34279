// The world's nodes: starting one (its identity, DNS answers and pool drawn from the seed),
// stopping it, mining on it, and reading its peers and tip.
#include "actors/simulation/height_recorder.hpp"
#include "actors/simulation/simulated_node.hpp"
#include "actors/supervisor.hpp"
#include "messages/primitives/hex.hpp"
#include "runtime/chain/block_maker.hpp"
#include "runtime/chain/genesis.hpp"
#include "runtime/net/ip_address.hpp"
#include "world.hpp"

#include <caf/actor_cast.hpp>
#include <caf/send.hpp>

#include <algorithm>
#include <map>

namespace qtc::sim {

using namespace std::chrono_literals;

namespace {

/// `count` distinct picks from `from` (all of them if it has fewer).
std::vector<std::string> pick(std::vector<std::string> from, std::size_t count,
                              std::mt19937_64& rng) {
  std::shuffle(from.begin(), from.end(), rng);
  if (from.size() > count)
    from.resize(count);
  return from;
}

std::uint64_t node_seed(std::uint64_t seed, std::size_t i) {
  std::seed_seq seq{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32),
                    static_cast<std::uint32_t>(i)};
  std::uint32_t words[2];
  seq.generate(words, words + 2);
  auto out = (static_cast<std::uint64_t>(words[0]) << 32) | words[1];
  return out != 0 ? out : 1;
}

} // namespace

/// The node's own DNS seeds: every seed name of the chain spec answers `dns_answer_size` A
/// records, the attackers' share of them attacker addresses, the rest honest nodes the seeds
/// know (drawn for this node, as a real seed answers each asker differently). With
/// `seeds_name = "running"` a seed knows the honest nodes running when the node first starts,
/// as a seed fed by a crawler lists the nodes it reached (with "all", an early node could be
/// given eight nodes not started yet, and wait a minute before trying them again).
std::shared_ptr<dns_resolver> world::make_resolver(std::size_t i) {
  std::vector<std::string> honest;
  std::vector<std::string> attackers;
  for (std::size_t k = 0; k < nodes_.size(); ++k) {
    if (k == i)
      continue;
    if (nodes_[k].role == node_role::attacker)
      attackers.push_back(nodes_[k].ip);
    else if (nodes_[k].role == node_role::serving || scenario_.seeds_name == seeds_knowledge::all
             || (scenario_.seeds_name == seeds_knowledge::running && nodes_[k].running))
      honest.push_back(nodes_[k].ip);
  }
  std::mt19937_64 rng{node_seed(scenario_.seed, i) ^ 0xd45};
  auto size = scenario_.dns_answer_size;
  auto bad = static_cast<std::size_t>(scenario_.attacker_address_share * size + 0.5);
  auto chosen = pick(attackers, bad, rng);
  auto good = pick(honest, size - chosen.size(), rng);
  chosen.insert(chosen.end(), good.begin(), good.end());
  auto resolver = std::make_shared<table_resolver>(50ms);
  table_resolver::entry answer;
  for (const auto& ip : chosen)
    if (auto parsed = parse_ip(ip))
      answer.records.push_back(dns_record{*parsed, {}, 0, {}});
  for (const auto& name : scenario_.spec.dns_seeds)
    resolver->set(name, dns_type::a, answer);
  return resolver;
}

void world::start(std::size_t i) {
  auto& n = nodes_[i];
  if (n.running || n.left)
    return;
  auto seed = node_seed(scenario_.seed, i);
  if (!n.identity) {
    std::array<std::uint8_t, 32> key{};
    std::mt19937_64 rng{seed};
    for (auto& b : key)
      b = static_cast<std::uint8_t>(rng());
    n.identity = std::make_shared<const node_identity>(node_identity::from_seed(key));
    n.resolver = make_resolver(i);
  }
  auto& lane = lane_of(i);
  simulated_node_config cfg;
  cfg.data_dir = dir_ / n.ip;
  cfg.spec = chain_;
  cfg.identity = n.identity;
  cfg.network = lane.net;
  cfg.ip = n.ip;
  cfg.pool.full_relay_slots = scenario_.full_relay_slots;
  cfg.pool.block_relay_slots = scenario_.block_relay_slots;
  cfg.pool.max_connections = scenario_.max_connections;
  cfg.pool.seed = seed + n.starts;
  cfg.resolver = n.resolver;
  n.root = caf::actor_cast<caf::actor>(
      lane.sys.spawn(supervisor, make_simulated_node(cfg), supervisor_actor{}));
  run();
  auto sup = caf::actor_cast<supervisor_actor>(n.root);
  auto sync = request<caf::actor>(sup, whereis_atom::value, std::string{"sync"});
  auto peers = request<caf::actor>(sup, whereis_atom::value, std::string{"peers"});
  n.running = sync && peers;
  if (!n.running) {
    note("node " + n.ip + " did not start");
    return;
  }
  n.sync = caf::actor_cast<sync_actor>(*sync);
  n.peers = caf::actor_cast<peer_manager_actor>(*peers);
  // The recorder follows the node's sync coordinator, also across a restart of it.
  auto starts = n.starts;
  lane.sys.spawn(height_recorder, sup,
                 height_recorder_callbacks{[this, i](std::int32_t h) { on_best(i, h); },
                                           [this, i, starts](const sync_actor& s) {
                                             if (nodes_[i].starts == starts + 1)
                                               nodes_[i].sync = s;
                                           }});
  if (!n.first_start)
    n.first_start = now();
  ++n.starts;
  if (n.starts > 1)
    note("restart " + n.ip);
  run();
}

void world::stop(std::size_t i, bool for_good) {
  auto& n = nodes_[i];
  if (!n.running)
    return;
  caf::anon_send_exit(n.root, caf::exit_reason::kill);
  n.running = false;
  n.left = for_good;
  n.best = -1;
  note((for_good ? "leave " : "crash ") + n.ip);
  run();
}

// Runs on the node's lane's thread: it touches only the node's record and its lane's clock.
void world::on_best(std::size_t i, std::int32_t height) {
  auto& n = nodes_[i];
  if (!n.running || height < 0)
    return;
  auto now = std::chrono::duration_cast<milliseconds>(lane_of(i).now() - epoch_);
  n.best = height;
  auto h = static_cast<std::size_t>(height);
  if (n.reached.size() <= h)
    n.reached.resize(h + 1, -1);
  for (std::size_t k = 0; k <= h; ++k)
    if (n.reached[k] < 0)
      n.reached[k] = now.count();
  if (!n.synced && height >= static_cast<std::int32_t>(scenario_.chain_blocks) && n.first_start)
    n.synced = now - *n.first_start;
}

void world::mine(std::size_t i) {
  auto& n = nodes_[i];
  if (!n.running || n.best < 0) {
    note("mine skipped: " + n.ip + " is not running");
    return;
  }
  auto parent = request<status_report>(n.sync, get_atom::value, headers_atom::value, n.best);
  auto hex = parent ? caf::get_or(*parent, "hex", std::string{}) : std::string{};
  auto raw = from_hex(hex);
  if (!raw || raw->size() != 80) {
    note("mine skipped: no header at " + std::to_string(n.best) + " on " + n.ip);
    return;
  }
  byte_reader r{*raw};
  auto header = read_block_header(r);
  auto limit = chain_params::from(scenario_.spec).pow_limit.to_big_endian();
  auto b = make_next_block(header, block_hash(header), static_cast<std::uint32_t>(n.best),
                           scenario_.txs_per_block, rng_, limit);
  auto height = n.best + 1;
  auto hash = request<hash256>(n.sync, put_atom::value, block_atom::value, serialize(b));
  if (!hash) {
    note("mine refused by " + n.ip);
    return;
  }
  mined_.push_back({height, i, now(), to_display_hex(*hash)});
  note("mined " + std::to_string(height) + " at " + n.ip);
}

void world::partition(bool cut) {
  std::vector<std::string> side;
  if (cut) {
    auto from = static_cast<std::size_t>(static_cast<double>(nodes_.size())
                                         * (1.0 - scenario_.partition->share));
    for (std::size_t i = from; i < nodes_.size(); ++i)
      side.push_back(nodes_[i].ip);
  }
  for (auto& l : lanes_)
    caf::anon_send(l->net, partition_atom::value, side);
  note(cut ? "partition: " + std::to_string(side.size()) + " nodes cut off" : "heal");
  run();
}

void world::silence() {
  for (const auto& n : nodes_)
    if (n.role == node_role::attacker)
      for (auto& l : lanes_)
        caf::anon_send(l->net, close_atom::value, n.ip);
  note("attackers silent");
  run();
}

std::size_t world::running() const {
  return static_cast<std::size_t>(
      std::count_if(nodes_.begin(), nodes_.end(), [](const auto& n) { return n.running; }));
}

std::size_t world::synced() const {
  return static_cast<std::size_t>(std::count_if(nodes_.begin(), nodes_.end(), [&](const auto& n) {
    return n.running && n.best >= static_cast<std::int32_t>(scenario_.chain_blocks);
  }));
}

} // namespace qtc::sim
