// The simulator's network: many nodes in one actor system (CAF's deterministic test coordinator)
// connect through in-memory wires instead of sockets. The peer sessions, peer managers and sync
// coordinators on top are the production actors; only the link under the session and the dialer
// differ. Time is the actor clock's, so a latency of 50 ms costs nothing in a test. Each wire
// gets its latency from the network's wire_model, drawn from its seed, and carries at most its
// bandwidth: a write is delivered after the ones before it have passed, plus the latency.
#pragma once

#include "actors/peer_dialer.hpp"
#include "messages/interfaces.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <chrono>
#include <deque>
#include <map>
#include <random>
#include <set>
#include <string>

namespace qtc {

// (The first member must not be constructible from a pointer: CAF 0.17 constructs the state
// with the actor's `this` when it can, which C++20 aggregates would allow.)
struct memory_link_state {
  std::uint64_t written = 0;
  caf::timespan latency{0};
  std::uint64_t bandwidth = 0;            ///< bytes per second, 0: unlimited
  caf::actor_clock::time_point free_at{}; ///< when the wire has sent what was written so far
  bool silent = false;                    ///< the node went silent: deliver nothing any more
  peer_session_actor session;
  /// The other end of the wire: always a memory link, typed as the plain peer link because an
  /// interface cannot name itself (memory_link_actor's `link` message carries it).
  peer_link_actor partner;
  std::deque<bytes> early; ///< data that arrived before the session was attached or while paused
  bool paused = false;     ///< the session is not reading (waiting for rate allowance)
  static inline const char* name = "memory_link";
};

using memory_link_pointer = memory_link_actor::stateful_pointer<memory_link_state>;

/// How the network's wires behave: each wire's one-way latency is drawn uniformly from
/// [latency_min, latency_max] with the model's seed (in the order wires are made, so the same
/// run gets the same latencies); every wire carries `bandwidth` bytes a second each way.
struct wire_model {
  caf::timespan latency_min{0};
  caf::timespan latency_max{0};
  std::uint64_t bandwidth = 0; ///< bytes per second, 0: unlimited
  std::uint64_t seed = 1;
};

memory_link_actor::behavior_type memory_link(memory_link_pointer self, caf::timespan latency,
                                             std::uint64_t bandwidth, bool silent);

/// One end of a wire, as the network knows it (to silence or cut it by address).
struct wire_end {
  memory_link_actor link;
  std::string ip;      ///< the node this end belongs to
  std::string peer_ip; ///< the node at the other end
};

struct memory_network_state {
  std::map<std::string, peer_manager_actor> listeners; ///< by "ip:port"
  std::map<caf::actor_id, wire_end> wire_ends;         ///< live ends (pruned as links end)
  std::set<std::string> silent;                        ///< ips gone silent
  std::set<std::string> cut_off;                       ///< one side of a partition (empty: none)
  std::uint16_t next_port = 40000;                     ///< ephemeral ports of dialing ends
  wire_model model;
  std::mt19937_64 rng;
  std::uint64_t wires_made = 0;
  std::uint64_t wires_refused = 0;
  static inline const char* name = "memory_network";
};

using memory_network_pointer = memory_network_actor::stateful_pointer<memory_network_state>;

/// `latency`: one-way delay of every wire, bandwidth unlimited.
memory_network_actor::behavior_type memory_network(memory_network_pointer self,
                                                   caf::timespan latency);

/// A network whose wires follow `model`.
memory_network_actor::behavior_type modelled_network(memory_network_pointer self, wire_model model);

/// Dials through a memory network, from the node at `local_ip`.
class memory_dialer final : public peer_dialer {
public:
  memory_dialer(memory_network_actor network, std::string local_ip)
      : network_(std::move(network)), local_ip_(std::move(local_ip)) {}

  std::optional<std::string> dial(caf::actor_system& sys, const ip_bytes& ip, std::uint16_t port,
                                  peer_session_actor session) override;

private:
  memory_network_actor network_;
  std::string local_ip_;
};

} // namespace qtc
