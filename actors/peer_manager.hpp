// The peer manager: owns the P2P listening socket.
//
// Until the peer-session issue lands it accepts inbound TCP connections and closes each at once,
// logging that peer sessions are not implemented yet; it makes no outbound connections.
#pragma once

#include "messages/interfaces.hpp"
#include "runtime/logger.hpp"

#include <caf/io/doorman.hpp>
#include <caf/io/typed_broker.hpp>
#include <caf/stateful_actor.hpp>

#include <cstdint>
#include <string>

namespace qtc {

namespace detail {
template <class Handle>
struct broker_of;
template <class... Sigs>
struct broker_of<caf::typed_actor<Sigs...>> {
  using type = caf::io::typed_broker<Sigs...>;
};
} // namespace detail

/// The typed broker implementing `peer_manager_actor`.
using peer_manager_broker = detail::broker_of<peer_manager_actor>::type;

struct peer_manager_state {
  logger log;
  std::string address;       ///< host:port the listener is bound to
  std::uint64_t refused = 0; ///< inbound connections closed because sessions do not exist yet
  static inline const char* name = "peer_manager";
};

using peer_manager_pointer = caf::stateful_actor<peer_manager_state, peer_manager_broker>*;

/// The peer manager's behavior; `listener` is the already bound P2P socket.
peer_manager_actor::behavior_type peer_manager(peer_manager_pointer self,
                                               caf::io::doorman_ptr listener, std::string host);

/// Binds the P2P listener (synchronously, so a bad address fails the start) and spawns the
/// peer manager owning it. `port` 0 picks a free port; the bound port is logged.
caf::expected<caf::actor> start_peer_manager(caf::actor_system& sys, const std::string& host,
                                             std::uint16_t port);

} // namespace qtc
