// The peer manager: owns the P2P listening socket.
//
// Until the peer-session issue lands it accepts inbound TCP connections and closes each at once,
// logging that peer sessions are not implemented yet; it makes no outbound connections.
#pragma once

#include <caf/io/broker.hpp>
#include <caf/io/doorman.hpp>

#include <cstdint>
#include <string>

namespace qtc {

/// Binds the P2P listener (synchronously, so a bad address fails the start) and spawns the
/// peer manager owning it. `port` 0 picks a free port; the bound port is logged.
caf::expected<caf::actor> start_peer_manager(caf::actor_system& sys, const std::string& host,
                                             std::uint16_t port);

} // namespace qtc
