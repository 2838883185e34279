#include "actors/peer_manager.hpp"

#include "messages/errors.hpp"

#include <caf/actor_cast.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/network/default_multiplexer.hpp>

namespace qtc {

peer_manager_actor::behavior_type peer_manager(peer_manager_pointer self,
                                               caf::io::doorman_ptr listener, std::string host) {
  auto& st = self->state;
  st.log = logger{self->system(), "peers"};
  auto port = listener->port();
  st.address = host + ":" + std::to_string(port);
  self->add_doorman(std::move(listener));
  st.log.info("listening for peers", {{"address", st.address}, {"port", std::to_string(port)}});
  return {
      [self](status_atom, status_verbosity) -> status_report {
        caf::settings result;
        caf::put(result, "name", "peers");
        caf::put(result, "state", "listening");
        caf::put(result, "address", self->state.address);
        caf::put(result, "inbound-refused",
                 static_cast<caf::config_value::integer>(self->state.refused));
        return result;
      },
      [self](const caf::io::new_connection_msg& msg) {
        ++self->state.refused;
        auto remote =
            self->remote_addr(msg.handle) + ":" + std::to_string(self->remote_port(msg.handle));
        self->state.log.info("inbound connection closed: peer sessions are not implemented yet",
                             {{"remote", remote}});
        self->close(msg.handle);
      },
      [](const caf::io::new_data_msg&) {
        // No connection stays open long enough to deliver data.
      },
      [](const caf::io::connection_closed_msg&) {},
      [self](const caf::io::acceptor_closed_msg&) {
        self->state.log.error("P2P listener closed");
        self->quit(make_error(errc::bind_failed, "peers: the P2P listener closed"));
      },
  };
}

caf::expected<caf::actor> start_peer_manager(caf::actor_system& sys, const std::string& host,
                                             std::uint16_t port) {
  auto& mm = sys.middleman();
  auto listener = mm.backend().new_tcp_doorman(port, host.c_str(), true);
  if (!listener)
    return make_error(errc::bind_failed, "peers: cannot listen on " + host + ":"
                                             + std::to_string(port) + ": "
                                             + render_error(listener.error()));
  return caf::actor_cast<caf::actor>(mm.spawn_broker(peer_manager, std::move(*listener), host));
}

} // namespace qtc
