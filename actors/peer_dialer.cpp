#include "actors/peer_dialer.hpp"

#include "actors/tcp_link.hpp"
#include "runtime/io/tcp_connect.hpp"

#include <caf/io/middleman.hpp>

namespace qtc {

std::optional<std::string> tcp_dialer::dial(caf::actor_system& sys, const ip_bytes& ip,
                                            std::uint16_t port, peer_session_actor session) {
  auto fd = start_tcp_connect(ip, port, bind_);
  if (auto* why = std::get_if<std::string>(&fd))
    return *why;
  sys.middleman().spawn_broker(tcp_link_outbound, std::get<int>(fd), std::move(session));
  return std::nullopt;
}

} // namespace qtc
