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
#include <memory>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace qtc {

/// What crosses from one lane of a parallel simulation to another (see lane_port): the opening,
/// the bytes and the closing of wires whose two ends live in different lanes.
struct wire_crossing {
  enum class kind : std::uint8_t { connect, data, linkdown };
  kind what = kind::data;
  caf::actor_clock::time_point at{}; ///< virtual time of arrival at the receiving end
  std::size_t from_lane = 0;
  std::size_t to_lane = 0;
  std::uint64_t end = 0; ///< the receiving end (see lane_port::ends)
  bytes data;
  std::string from_ip;      ///< connect: the dialing node
  std::string to;           ///< connect: "ip:port" dialed
  caf::timespan latency{0}; ///< connect: the wire's one-way latency
};

/// One lane's door to the others. A parallel simulation (tools/qtc-sim, `lanes` > 1) splits
/// the nodes over several actor systems, each on its own thread with its own deterministic
/// coordinator and clock. A wire between nodes of two lanes has one end in each; what an end
/// sends across goes into its lane's outbox, stamped with its virtual arrival time, which is at
/// least the smallest link latency away. The simulator runs the lanes in rounds no longer than
/// that latency and, between rounds, moves every outbox into the clocks of the lanes it is for
/// (exchange_crossings), in lane order, so nothing arrives in a lane's past and every run
/// delivers the same things in the same order. Touched only by its lane's thread during a round
/// and by the simulator between rounds.
struct lane_port {
  std::size_t lane = 0;
  std::shared_ptr<const std::map<std::string, std::size_t>> lane_of; ///< node ip -> its lane
  std::vector<wire_crossing> outbox;
  /// This lane's ends of wires across lanes, by end number: wire id * 2, plus 1 for the
  /// dialing end.
  std::unordered_map<std::uint64_t, caf::strong_actor_ptr> ends;
  std::uint64_t wires_begun = 0; ///< wire ids this lane gave out

  /// The lane of the node at `ip` (this lane for an address no node has).
  std::size_t lane_of_ip(const std::string& ip) const;

  /// Puts a crossing from this lane into the outbox: to end `end` of lane `to_lane`, arriving
  /// at `at`. Returns it, for the caller to add its bytes or a connect's details.
  wire_crossing& post(wire_crossing::kind what, caf::actor_clock::time_point at,
                      std::size_t to_lane, std::uint64_t end);
};

/// The far end of a wire across lanes, as its near end knows it.
struct remote_end {
  std::shared_ptr<lane_port> port; ///< the near end's lane (null: the wire is within a lane)
  std::size_t lane = 0;            ///< the far end's lane
  std::uint64_t end = 0;           ///< the far end's number
};

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
  remote_end remote;       ///< the partner, when it lives in another lane
  static inline const char* name = "memory_link";
};

using memory_link_pointer = memory_link_actor::stateful_pointer<memory_link_state>;

/// How the network's wires behave: each wire's one-way latency is drawn uniformly from
/// [latency_min, latency_max], and the bandwidth of each of its directions from
/// [bandwidth_min, bandwidth_max] (links are often asymmetric), with the model's seed, in the
/// order wires are made, so the same run gets the same wires. A range that is one value draws
/// nothing.
struct wire_model {
  caf::timespan latency_min{0};
  caf::timespan latency_max{0};
  std::uint64_t bandwidth_min = 0; ///< bytes per second, 0: unlimited
  std::uint64_t bandwidth_max = 0;
  std::uint64_t seed = 1;
};

/// `remote`: the other end in another lane (a null port: the other end will be given with
/// `link`).
memory_link_actor::behavior_type memory_link(memory_link_pointer self, caf::timespan latency,
                                             std::uint64_t bandwidth, bool silent,
                                             remote_end remote);

/// One end of a wire, as the network knows it (to silence or cut it by address).
struct wire_end {
  memory_link_actor link;
  std::string ip;                 ///< the node this end belongs to
  std::string peer_ip;            ///< the node at the other end
  std::uint64_t crossing_end = 0; ///< its number in the lane port (0: within a lane)
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
  std::shared_ptr<lane_port> port; ///< in a parallel simulation (null: the only lane)
  static inline const char* name = "memory_network";
};

using memory_network_pointer = memory_network_actor::stateful_pointer<memory_network_state>;

/// `latency`: one-way delay of every wire, bandwidth unlimited.
memory_network_actor::behavior_type memory_network(memory_network_pointer self,
                                                   caf::timespan latency);

/// A network whose wires follow `model`; with a `port`, one lane's part of a parallel
/// simulation's network (its listeners are this lane's nodes).
memory_network_actor::behavior_type modelled_network(memory_network_pointer self, wire_model model,
                                                     std::shared_ptr<lane_port> port = nullptr);

/// One lane as exchange_crossings sees it.
struct lane_door {
  caf::actor_system* system = nullptr;
  memory_network_actor network;
  std::shared_ptr<lane_port> port;
};

/// Between rounds: schedules every crossing in every lane's outbox on the clock of the lane it
/// is for (straight to the receiving end when it exists, else to that lane's network), in lane
/// order and then in the order they were sent, and empties the outboxes.
void exchange_crossings(const std::vector<lane_door>& lanes);

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
