// The P2P listener: owns the listening socket. Every accepted connection is offered to the peer
// manager (which applies the pool's limits and bans) and forked to a TCP link broker for the
// session the manager started, or closed if the manager refused it.
#pragma once

#include "actors/support/broker_of.hpp"
#include "actors/support/logger.hpp"
#include "messages/interfaces.hpp"

#include <caf/io/doorman.hpp>
#include <caf/stateful_actor.hpp>

namespace qtc {

using p2p_listener_broker = broker_of_t<p2p_listener_actor>;

struct p2p_listener_state {
  logger log;
  peer_manager_actor manager;
  static inline const char* name = "p2p_listener";
};

using p2p_listener_pointer = caf::stateful_actor<p2p_listener_state, p2p_listener_broker>*;

p2p_listener_actor::behavior_type
p2p_listener(p2p_listener_pointer self, caf::io::doorman_ptr listener, peer_manager_actor manager);

} // namespace qtc
