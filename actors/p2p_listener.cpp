#include "actors/p2p_listener.hpp"

#include "actors/tcp_link.hpp"
#include "messages/errors.hpp"

namespace qtc {

p2p_listener_actor::behavior_type
p2p_listener(p2p_listener_pointer self, caf::io::doorman_ptr listener, peer_manager_actor manager) {
  self->state.log = logger{self->system(), "peers"};
  self->state.manager = manager;
  self->add_doorman(std::move(listener));
  return {
      [self](const caf::io::new_connection_msg& msg) {
        self->fork(tcp_link_inbound, msg.handle, self->state.manager);
      },
      [](const caf::io::new_data_msg&) {},
      [](const caf::io::connection_closed_msg&) {},
      [self](const caf::io::acceptor_closed_msg&) {
        self->state.log.error("P2P listener closed");
        self->quit(make_error(errc::bind_failed, "peers: the P2P listener closed"));
      },
  };
}

} // namespace qtc
