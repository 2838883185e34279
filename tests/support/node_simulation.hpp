// Whole simulated nodes on the simulator's in-memory network (actors/simulation/simulated_node),
// for the actor-level tests of sync and the peer manager: start nodes, mine their chains with the
// real chain generator, read their status, and run virtual time.
#pragma once

#include "actors/node.hpp"
#include "actors/peer_session.hpp"
#include "actors/simulation/simulated_node.hpp"
#include "actors/supervisor.hpp"
#include "runtime/chain/genesis.hpp"
#include "runtime/store/chain_store.hpp"
#include "support/process.hpp"
#include "support/simulation.hpp"

#include <caf/actor_cast.hpp>
#include <caf/event_based_actor.hpp>

#include <algorithm>
#include <functional>

namespace qtc::test {

using namespace std::chrono_literals;

inline const std::filesystem::path sim_source_dir = QTC_SOURCE_DIR;

inline std::shared_ptr<const chain_spec> regtest() {
  auto r = load_chain_spec(sim_source_dir / "config" / "regtest.toml");
  REQUIRE(r.spec);
  return std::make_shared<const chain_spec>(*r.spec);
}

/// Mines `blocks` blocks into `dir` with the real chain generator (same seed: same chain; another
/// seed: a chain that forks at genesis).
inline void mine(const std::filesystem::path& dir, int blocks, int seed = 1) {
  auto r =
      run_to_completion(QTC_CHAINGEN_BINARY,
                        {"--chain-spec=" + (sim_source_dir / "config" / "regtest.toml").string(),
                         "--blocks=" + std::to_string(blocks), "--txs=2",
                         "--seed=" + std::to_string(seed), "--data-dir=" + dir.string()},
                        60s);
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
}

/// The headers of the best chain mined into `dir` (genesis first), read from its store.
inline std::vector<block_header> mined_headers(const std::filesystem::path& dir,
                                               const chain_spec& spec) {
  std::string error;
  auto store = chain_store::open(
      dir / "chain", chain_identity{spec.network, block_hash(make_genesis_block(spec).header)},
      error);
  REQUIRE_MESSAGE(store, error);
  std::vector<block_header> chain;
  for (auto hash = store->best_block().value();;) {
    auto h = store->header(hash).value();
    chain.push_back(h.header);
    if (h.height == 0)
      break;
    hash = h.header.prev_block;
  }
  std::reverse(chain.begin(), chain.end());
  return chain;
}

struct sim_fixture : simulation {
  temp_dir dir;
  std::shared_ptr<const chain_spec> spec = regtest();
  memory_network_actor net;
  std::vector<caf::actor> roots;
  /// Adjusts every node's configuration before it starts (what the parameters do not cover).
  std::function<void(simulated_node_config&)> configure;

  sim_fixture() {
    net = own(sys.spawn(memory_network, caf::timespan{20ms}));
  }

  /// Starts a node at `ip`; `connect` lists the peers it connects to ("ip:port").
  /// `tune` adjusts the pool options (slots, timers) before the node starts.
  caf::actor start_node(const std::string& ip, std::vector<std::string> connect, std::uint8_t seed,
                        block_download::config download = {},
                        const std::function<void(peer_pool_options&)>& tune = {},
                        std::shared_ptr<dns_resolver> resolver = nullptr) {
    simulated_node_config cfg;
    cfg.download = download;
    cfg.data_dir = dir.path() / ip;
    cfg.spec = spec;
    cfg.identity = std::make_shared<const node_identity>(
        node_identity::from_seed(std::array<std::uint8_t, 32>{seed, 0x51}));
    cfg.network = net;
    cfg.ip = ip;
    cfg.pool.full_relay_slots = 0;
    cfg.pool.block_relay_slots = 0;
    cfg.pool.seed = seed;
    cfg.pool.max_connections = spec->max_connections;
    cfg.resolver = std::move(resolver);
    for (const auto& c : connect) {
      std::string error;
      auto entry = parse_address_entry(c, error);
      REQUIRE_MESSAGE(entry, error);
      cfg.pool.connect.push_back(*entry);
    }
    if (tune)
      tune(cfg.pool);
    if (configure)
      configure(cfg);
    auto root = caf::actor_cast<caf::actor>(
        own(sys.spawn(supervisor, make_simulated_node(cfg), supervisor_actor{})));
    roots.push_back(root);
    run();
    return root;
  }

  /// A stand-in peer manager for test-driven sessions: it takes every message and answers with
  /// nothing (caf::drop would answer with an error, which ends the session that sent it);
  /// `handlers` see the messages a test counts.
  template <class... Handlers>
  caf::actor quiet_manager(Handlers... handlers) {
    return own(sys.spawn([=](caf::event_based_actor* self) -> caf::behavior {
      self->set_default_handler(
          [](caf::scheduled_actor*, caf::message_view&) -> caf::result<caf::message> {
            return caf::message{};
          });
      return {[](int) {}, handlers...}; // (an actor without handlers would end at once)
    }));
  }

  /// A production peer session from `from_ip` to the node at `to_ip`, over the simulated
  /// network, reporting to `manager` as to a peer manager. Nothing but the test drives it: it
  /// sends what the test tells it to. Each `id` gets its own identity (a node keeps one session
  /// per identity).
  peer_session_actor production_session(const std::string& from_ip, const std::string& to_ip,
                                        std::uint64_t id, const caf::actor& manager) {
    peer_session_config cfg;
    cfg.id = id;
    cfg.type = connection_type::manual;
    cfg.ip = *parse_ip(to_ip);
    cfg.port = spec->default_port;
    cfg.settings = session_settings_for(*spec);
    cfg.settings.local_nonce = 0xabcdef00 + id;
    cfg.seed = id;
    cfg.context = make_channel_context(
        std::make_shared<const node_identity>(node_identity::from_seed(
            std::array<std::uint8_t, 32>{0xa7, static_cast<std::uint8_t>(id)})),
        *spec);
    cfg.manager = caf::actor_cast<peer_manager_actor>(manager);
    auto session = sys.spawn(peer_session, std::move(cfg));
    caf::anon_send(net, connect_atom::value, from_ip,
                   to_ip + ":" + std::to_string(spec->default_port), session);
    run();
    return session;
  }

  std::optional<sync_actor> sync_of(const caf::actor& root) {
    auto sync = request<caf::actor>(caf::actor_cast<supervisor_actor>(root), whereis_atom::value,
                                    std::string{"sync"});
    if (!sync)
      return std::nullopt;
    return caf::actor_cast<sync_actor>(*sync);
  }

  std::optional<caf::settings> sync_status(const caf::actor& root) {
    auto sync = sync_of(root);
    if (!sync)
      return std::nullopt;
    return request<status_report>(*sync, status_atom::value, status_verbosity::detailed);
  }

  /// The id `node`'s sync coordinator knows its peer at `ip` by (0 if none).
  std::uint64_t peer_id_at(const caf::actor& node, const std::string& ip) {
    auto s = sync_status(node);
    if (!s)
      return 0;
    for (const auto& p : caf::get_or(*s, "peer-state", caf::config_value::list{}))
      if (caf::get_or(caf::get<caf::settings>(p), "remote", std::string{}).rfind(ip + ":", 0) == 0)
        return static_cast<std::uint64_t>(
            caf::get_or(caf::get<caf::settings>(p), "id", std::int64_t{0}));
    return 0;
  }

  /// A component of a node, by its name in the node's supervision tree.
  caf::actor component(const caf::actor& root, const std::string& name) {
    auto a =
        request<caf::actor>(caf::actor_cast<supervisor_actor>(root), whereis_atom::value, name);
    REQUIRE_MESSAGE(a, name);
    return *a;
  }

  /// The node's peer manager.
  peer_manager_actor peers_of(const caf::actor& root) {
    auto pm = request<caf::actor>(caf::actor_cast<supervisor_actor>(root), whereis_atom::value,
                                  std::string{"peers"});
    REQUIRE(pm);
    return caf::actor_cast<peer_manager_actor>(*pm);
  }

  /// The peer manager's status (pool counts, per-peer scores, recent closes).
  caf::settings pool_status(const caf::actor& root,
                            status_verbosity v = status_verbosity::detailed) {
    auto s = request<status_report>(peers_of(root), status_atom::value, v);
    REQUIRE(s);
    return *s;
  }

  std::int64_t blocks_of(const caf::actor& root) {
    auto s = sync_status(root);
    return s ? caf::get_or(*s, "blocks", std::int64_t{-1}) : -1;
  }

  /// Advances virtual time in 10 ms steps until the node has `height` blocks; returns the
  /// virtual milliseconds it took, or nothing within `limit`.
  std::optional<std::int64_t> run_until_synced(const caf::actor& root, std::int64_t height,
                                               caf::timespan limit) {
    const auto step = caf::timespan{10ms};
    for (caf::timespan t{0}; t <= limit; t += 10 * step) {
      if (blocks_of(root) == height)
        return std::chrono::duration_cast<std::chrono::milliseconds>(t).count();
      advance_in_steps(10 * step, step);
    }
    return std::nullopt;
  }
};

} // namespace qtc::test
