// The simulated world: one actor system on CAF's deterministic test coordinator, the in-memory
// network, and every node of the scenario built from the production actors
// (actors/simulation/simulated_node: storage, security, DNS seeder, sync, peer manager with Noise
// sessions). It carries out the plan's events at their virtual times and records what the report
// needs: when each node reached each height, peer-graph samples, blocks mined, traffic by
// command. Nothing here reads the wall clock or an unseeded random source.
#pragma once

#include "actors/simulation/memory_network.hpp"
#include "actors/simulation/simulation_config.hpp"
#include "actors/simulation/traffic_recorder.hpp"
#include "actors/support/unix_clock.hpp"
#include "messages/p2p.hpp"
#include "plan.hpp"
#include "runtime/config/node_options.hpp"
#include "runtime/io/dns_resolver.hpp"
#include "runtime/net/peer_graph.hpp"
#include "runtime/transport/node_identity.hpp"
#include "scenario.hpp"

#include <caf/actor_system.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/scoped_actor.hpp>

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace qtc::sim {

struct node_record {
  node_role role = node_role::fresh;
  std::string ip;
  bool running = false;
  bool left = false;
  std::uint32_t starts = 0;
  caf::actor root;
  sync_actor sync;
  peer_manager_actor peers;
  std::shared_ptr<dns_resolver> resolver;
  std::shared_ptr<const node_identity> identity;
  std::optional<milliseconds> first_start;
  std::optional<milliseconds> synced; ///< when it first held the initial chain's height
  std::int32_t best = -1;             ///< latest best height it reported
  std::vector<std::int64_t> reached;  ///< by height: virtual ms it first got there (-1)
  std::int32_t final_height = -1;     ///< at the end
  std::string final_tip;
  std::uint64_t bytes_sent = 0; ///< over its final run (the peer manager's totals)
  std::uint64_t bytes_received = 0;
  std::uint32_t attackers_banned = 0; ///< at the end: attackers whose address it bans
  std::uint32_t honest_banned = 0;    ///< at the end: honest nodes whose address it bans
};

/// An attacker and one of its targets in an attack.
struct attack_pair {
  std::size_t attacker = 0;
  std::size_t target = 0;
  std::uint64_t session = 0; ///< the id of its current session (0: none yet)
};

/// What an attack did.
struct attack_record {
  std::vector<attack_pair> pairs; ///< drawn at its first step
  std::uint64_t steps = 0;
  std::uint64_t messages = 0; ///< sent over ready sessions
};

/// An attack session as its stand-in peer manager saw it.
struct attack_session {
  std::size_t attack = 0;
  peer_session_actor session;
  bool ready = false;     ///< now
  bool was_ready = false; ///< ever completed its handshake
  bool closed = false;
};

using attack_sessions = std::map<std::uint64_t, attack_session>;

struct mined_block {
  std::int32_t height = 0;
  std::size_t node = 0;
  milliseconds at{0};
  std::string hash;
};

struct graph_sample {
  milliseconds at{0};
  std::size_t running = 0;
  peer_graph_summary summary;
};

/// One lane of the run: an actor system on its own deterministic coordinator and clock, its
/// part of the network and its share of the nodes. With more than one lane, the lanes run side
/// by side on threads of their own, in rounds (see lane_port in actors/simulation/memory_network).
struct lane {
  lane(std::size_t index, const std::string& log_level);
  ~lane();

  lane(const lane&) = delete;
  lane& operator=(const lane&) = delete;

  /// Runs every job that is ready now; returns how many.
  std::size_t run();
  /// Runs until the clock reads `target` (every timeout due before it fires in order).
  void advance_to(caf::actor_clock::time_point target);
  caf::actor_clock::time_point now() const {
    return sched.clock().current_time;
  }

  simulation_config cfg; ///< the deterministic coordinator, the nodes' log level
  caf::actor_system sys;
  caf::scoped_actor self;
  caf::scheduler::test_coordinator& sched;
  memory_network_actor net;
  std::shared_ptr<lane_port> port = std::make_shared<lane_port>();
  std::shared_ptr<traffic_totals> traffic = std::make_shared<traffic_totals>();
  std::uint64_t jobs = 0;
};

class lane_threads;

class world {
public:
  world(const scenario& s, std::filesystem::path dir, const std::string& log_level);
  ~world();

  world(const world&) = delete;
  world& operator=(const world&) = delete;

  /// Writes the initial chain that serving nodes and attackers start with; an error or "".
  std::string prepare();

  void apply(const event& e);

  /// Runs the network until virtual time `t` (every timeout due before it fires in order).
  void advance_to(milliseconds t);

  void sample_graph();

  /// Reads every running node's final height, tip and traffic.
  void finish();

  milliseconds now() const;
  std::uint64_t jobs() const;
  std::size_t running() const;
  std::size_t synced() const;

  const scenario& spec() const {
    return scenario_;
  }
  const std::vector<node_record>& nodes() const {
    return nodes_;
  }
  const std::vector<mined_block>& mined() const {
    return mined_;
  }
  const std::vector<graph_sample>& samples() const {
    return samples_;
  }
  const std::vector<std::pair<milliseconds, std::string>>& log() const {
    return log_;
  }
  /// Messages and bytes sent, by command, over every lane.
  traffic_totals traffic() const;
  std::uint64_t wires_made() const {
    return wires_made_;
  }
  std::uint64_t wires_refused() const {
    return wires_refused_;
  }
  const std::vector<attack_record>& attacks() const {
    return attacks_;
  }
  const attack_sessions& attack_sessions_seen() const {
    return *attack_sessions_;
  }
  /// At the end: the honest nodes' bans in force, by reason.
  const std::map<std::string, std::uint64_t>& ban_reasons() const {
    return ban_reasons_;
  }

private:
  void start(std::size_t i);
  void stop(std::size_t i, bool for_good);
  void mine(std::size_t i);
  void partition(bool cut);
  void silence();
  // world_attacks.cpp
  void start_attacks();
  void pick_targets(std::size_t a);
  std::uint64_t open_attack_session(std::size_t a, const attack_pair& pair);
  p2p_message attack_message(attack_kind kind);
  void attack(std::size_t a);
  void read_bans();
  void on_best(std::size_t i, std::int32_t height);
  /// The lane node `i` lives in, and the lane an actor lives in.
  lane& lane_of(std::size_t i) {
    return *lanes_[i % lanes_.size()];
  }
  lane& lane_of(const caf::actor_system& sys);
  /// Runs `task` on every lane, side by side on the lanes' threads when there are several.
  void for_each_lane(const std::function<void(lane&)>& task);
  /// Runs the lanes side by side up to `target`, in rounds no longer than the smallest link
  /// latency, moving what crosses between lanes before each round.
  void advance_lanes(caf::actor_clock::time_point target);
  std::shared_ptr<dns_resolver> make_resolver(std::size_t i);
  void note(std::string what);
  std::size_t run();
  /// Sends a request from the world's own mailbox, runs the system, returns the reply (nothing
  /// on an error).
  template <class Result, class Handle, class... Ts>
  std::optional<Result> request(const Handle& dest, Ts&&... xs) {
    std::optional<Result> result;
    auto& self = lane_of(dest->home_system()).self;
    auto rp = self->request(dest, caf::infinite, std::forward<Ts>(xs)...);
    run();
    rp.receive([&](Result& x) { result = std::move(x); }, [&](caf::error&) {});
    return result;
  }

  scenario scenario_;
  std::filesystem::path dir_;
  std::shared_ptr<const chain_spec> chain_;
  std::vector<std::unique_ptr<lane>> lanes_; ///< node i lives in lane i % lanes
  std::unique_ptr<lane_threads> threads_;    ///< with more than one lane
  /// The first lane: the attackers' sessions and the world's own clock reading.
  lane& home_;
  cast cast_;
  std::vector<node_record> nodes_;
  std::vector<mined_block> mined_;
  std::vector<graph_sample> samples_;
  std::vector<std::pair<milliseconds, std::string>> log_;
  std::mt19937_64 rng_;
  caf::actor_clock::time_point epoch_;
  std::uint64_t wires_made_ = 0;
  std::uint64_t wires_refused_ = 0;
  unix_clock unix_; ///< Unix time on the virtual clock (the attackers' addr times)
  std::vector<attack_record> attacks_;
  std::shared_ptr<attack_sessions> attack_sessions_ = std::make_shared<attack_sessions>();
  caf::actor attack_observer_;
  std::uint64_t attack_serial_ = 0;
  std::map<std::string, std::uint64_t> ban_reasons_;
};

} // namespace qtc::sim
