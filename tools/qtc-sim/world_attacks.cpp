// The attackers' active part: sessions from attacker addresses to honest nodes, made of the
// production peer session (so they complete the real handshake and QuantumProof), through which
// the world sends what the scenario's attacks say: addr floods, invalid headers, or simply more
// connections. A stand-in peer manager owned by the world hears when each becomes ready and
// when it ends; at the end the honest nodes' ban lists say whom they banned.
#include "actors/node.hpp"
#include "actors/peer_session.hpp"
#include "actors/simulation/simulated_node.hpp"
#include "actors/supervisor.hpp"
#include "runtime/chain/genesis.hpp"
#include "runtime/chain/header_tree.hpp"
#include "runtime/chain/pow.hpp"
#include "runtime/net/ip_address.hpp"
#include "runtime/net/subnet.hpp"
#include "world.hpp"

#include <caf/actor_cast.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include <algorithm>

namespace qtc::sim {

namespace {

/// Addresses in one attacker addr message: the wire's limit, so it is not an offence by size.
constexpr std::size_t addr_flood_size = 1000;

/// The stand-in peer manager of the attack sessions: it notes each one's handshake and end in
/// the world's tally and takes every other message without answering (an error answer would end
/// the session that sent it).
caf::behavior attack_observer(caf::event_based_actor* self,
                              std::shared_ptr<attack_sessions> tally) {
  self->set_default_handler(
      [](caf::scheduled_actor*, caf::message_view&) -> caf::result<caf::message> {
        return caf::message{};
      });
  return {
      [tally](ready_atom, const peer_info& info) {
        if (auto i = tally->find(info.id); i != tally->end())
          i->second.ready = i->second.was_ready = true;
      },
      [tally](closed_atom, const peer_closed& closed) {
        if (auto i = tally->find(closed.id); i != tally->end()) {
          i->second.ready = false;
          i->second.closed = true;
        }
      },
  };
}

/// A header on genesis whose hash misses the target its bits name: invalid on its face, so an
/// honest node charges the peer that sent it (the nonce is tried until the hash misses).
block_header invalid_header(const chain_spec& spec, std::uint32_t salt) {
  auto genesis = make_genesis_block(spec).header;
  block_header h;
  h.version = genesis.version;
  h.prev_block = block_hash(genesis);
  h.merkle_root[0] = static_cast<std::uint8_t>(salt);
  h.merkle_root[1] = static_cast<std::uint8_t>(salt >> 8);
  h.time = genesis.time + 600;
  h.bits = genesis.bits;
  auto limit = chain_params::from(spec).pow_limit.to_big_endian();
  while (check_proof_of_work(block_hash(h), h.bits, limit))
    ++h.nonce;
  return h;
}

} // namespace

void world::start_attacks() {
  attack_observer_ = home_.sys.spawn(attack_observer, attack_sessions_);
  attacks_.resize(scenario_.attacks.size());
}

/// Picks each attacker's targets for attack `a`: `targets` of the honest nodes, from the seed.
void world::pick_targets(std::size_t a) {
  auto& record = attacks_[a];
  std::vector<std::size_t> honest;
  for (std::size_t i = 0; i < nodes_.size(); ++i)
    if (nodes_[i].role != node_role::attacker)
      honest.push_back(i);
  for (std::size_t j = 0; j < nodes_.size(); ++j) {
    if (nodes_[j].role != node_role::attacker)
      continue;
    std::shuffle(honest.begin(), honest.end(), rng_);
    auto n = std::min<std::size_t>(scenario_.attacks[a].targets, honest.size());
    for (std::size_t k = 0; k < n; ++k)
      record.pairs.push_back({j, honest[k], 0});
  }
}

/// A production session from the attacker's address to the target, reporting to the observer;
/// each gets its own identity (a node keeps one session per identity). Returns its id.
std::uint64_t world::open_attack_session(std::size_t a, const attack_pair& pair) {
  auto id = ((a + 1) << 40) | ++attack_serial_;
  std::array<std::uint8_t, 32> key{0xa7};
  for (std::size_t b = 0; b < 8; ++b)
    key[1 + b] = static_cast<std::uint8_t>(id >> (8 * b));
  peer_session_config cfg;
  cfg.id = id;
  cfg.type = connection_type::manual;
  cfg.ip = *parse_ip(nodes_[pair.target].ip);
  cfg.port = chain_->default_port;
  cfg.settings = session_settings_for(*chain_);
  cfg.settings.local_nonce = id;
  cfg.seed = id;
  cfg.context =
      make_channel_context(std::make_shared<const node_identity>(node_identity::from_seed(key)),
                           *chain_, pq_policy::required, simulated_tls_time());
  cfg.manager = caf::actor_cast<peer_manager_actor>(attack_observer_);
  auto session = home_.sys.spawn(peer_session, std::move(cfg));
  (*attack_sessions_)[id] = attack_session{a, session};
  caf::anon_send(home_.net, connect_atom::value, nodes_[pair.attacker].ip,
                 nodes_[pair.target].ip + ":" + std::to_string(chain_->default_port), session);
  return id;
}

/// What one step of an addr-flood or invalid-headers attack sends over a ready session.
p2p_message world::attack_message(attack_kind kind) {
  if (kind == attack_kind::invalid_headers)
    return headers_message{{invalid_header(*chain_, static_cast<std::uint32_t>(rng_()))}};
  addr_message flood;
  auto time = static_cast<std::uint32_t>(unix_.now() - 3600);
  std::uniform_int_distribution<std::uint32_t> group{1, scenario_.attacker_groups};
  for (std::size_t k = 0; k < addr_flood_size; ++k) {
    auto host = static_cast<std::uint32_t>(rng_());
    net_address address;
    address.ip = ipv4(150, static_cast<std::uint8_t>(group(rng_)),
                      static_cast<std::uint8_t>(host >> 8), static_cast<std::uint8_t>(host));
    address.port = chain_->default_port;
    flood.addresses.push_back({time, address});
  }
  return flood;
}

/// One step of attack `a`: every pair sends its message over its session (opened, or opened
/// again once the target closed it; the message goes at a later step, once it is ready), or
/// for a connection flood opens one more session.
void world::attack(std::size_t a) {
  const auto& plan = scenario_.attacks[a];
  auto& record = attacks_[a];
  if (record.steps++ == 0)
    pick_targets(a);
  for (auto& pair : record.pairs) {
    if (!nodes_[pair.attacker].running || !nodes_[pair.target].running)
      continue;
    if (plan.kind == attack_kind::connection_flood) {
      open_attack_session(a, pair);
      continue;
    }
    auto i = attack_sessions_->find(pair.session);
    if (i == attack_sessions_->end() || i->second.closed) {
      pair.session = open_attack_session(a, pair);
    } else if (i->second.ready) {
      caf::anon_send(i->second.session, send_atom::value, attack_message(plan.kind));
      ++record.messages;
    }
  }
  run();
}

/// Each honest node's bans in force: how many attackers' addresses they cover, how many honest
/// nodes'.
void world::read_bans() {
  for (auto& n : nodes_) {
    if (!n.running || n.role == node_role::attacker)
      continue;
    auto security = request<caf::actor>(caf::actor_cast<supervisor_actor>(n.root),
                                        whereis_atom::value, std::string{"security"});
    if (!security)
      continue;
    auto bans = request<caf::config_value::list>(caf::actor_cast<security_actor>(*security),
                                                 get_atom::value, bans_atom::value);
    if (!bans)
      continue;
    std::vector<subnet> banned;
    for (const auto& entry : *bans)
      if (const auto* row = caf::get_if<caf::settings>(&entry))
        if (auto net = subnet::parse(caf::get_or(*row, "subnet", std::string{}))) {
          banned.push_back(*net);
          ++ban_reasons_[caf::get_or(*row, "reason", std::string{"?"})];
        }
    for (const auto& other : nodes_) {
      auto ip = parse_ip(other.ip);
      if (ip && std::any_of(banned.begin(), banned.end(), [&](const subnet& net) {
            return net.contains(*ip);
          }))
        ++(other.role == node_role::attacker ? n.attackers_banned : n.honest_banned);
    }
  }
}

} // namespace qtc::sim
