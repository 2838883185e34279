// The simulator's network: many nodes in one actor system (CAF's deterministic test coordinator)
// connect through in-memory wires instead of sockets. The peer sessions, peer managers and sync
// coordinators on top are the production actors; only the link under the session and the dialer
// differ. Time is the actor clock's, so a latency of 50 ms costs nothing in a test.
#pragma once

#include "actors/peer_dialer.hpp"
#include "messages/interfaces.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <chrono>
#include <deque>
#include <map>
#include <set>
#include <string>

namespace qtc {

// (The first member must not be constructible from a pointer: CAF 0.17 constructs the state
// with the actor's `this` when it can, which C++20 aggregates would allow.)
struct memory_link_state {
  std::uint64_t written = 0;
  caf::timespan latency{0};
  bool silent = false; ///< the node went silent: deliver nothing any more
  peer_session_actor session;
  /// The other end of the wire: always a memory link, typed as the plain peer link because an
  /// interface cannot name itself (memory_link_actor's `link` message carries it).
  peer_link_actor partner;
  std::deque<bytes> early; ///< data that arrived before the session was attached or while paused
  bool paused = false;     ///< the session is not reading (waiting for rate allowance)
  static inline const char* name = "memory_link";
};

using memory_link_pointer = memory_link_actor::stateful_pointer<memory_link_state>;

memory_link_actor::behavior_type memory_link(memory_link_pointer self, caf::timespan latency,
                                             bool silent);

struct memory_network_state {
  std::map<std::string, peer_manager_actor> listeners;             ///< by "ip:port"
  std::map<std::string, std::vector<memory_link_actor>> wire_ends; ///< by the ip of their node
  std::set<std::string> silent;                                    ///< ips gone silent
  std::uint16_t next_port = 40000; ///< ephemeral ports of dialing ends
  caf::timespan latency{0};
  static inline const char* name = "memory_network";
};

using memory_network_pointer = memory_network_actor::stateful_pointer<memory_network_state>;

/// `latency`: one-way delay of every wire.
memory_network_actor::behavior_type memory_network(memory_network_pointer self,
                                                   caf::timespan latency);

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
