// How the peer manager opens outbound connections, without knowing what a connection is: over
// TCP in production (tcp_dialer), through the simulator's in-memory network in tests.
#pragma once

#include "messages/interfaces.hpp"
#include "runtime/net/ip_address.hpp"

#include <optional>
#include <string>

namespace qtc {

class peer_dialer {
public:
  virtual ~peer_dialer() = default;

  /// Starts a connection to ip:port whose link reports to `session`. Returns why it could not
  /// even start; later failures reach the session as a closed link.
  virtual std::optional<std::string> dial(caf::actor_system& sys, const ip_bytes& ip,
                                          std::uint16_t port, peer_session_actor session) = 0;
};

/// Real TCP: a non-blocking connect adopted by a tcp_link broker.
class tcp_dialer final : public peer_dialer {
public:
  /// `bind`: the local address outbound connections leave from (the listening address).
  explicit tcp_dialer(std::optional<ip_bytes> bind) : bind_(bind) {}

  std::optional<std::string> dial(caf::actor_system& sys, const ip_bytes& ip, std::uint16_t port,
                                  peer_session_actor session) override;

private:
  std::optional<ip_bytes> bind_;
};

} // namespace qtc
