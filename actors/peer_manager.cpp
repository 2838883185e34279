#include "actors/peer_manager.hpp"

#include "messages/errors.hpp"
#include "messages/interfaces.hpp"
#include "runtime/logger.hpp"

#include <caf/io/middleman.hpp>
#include <caf/io/network/default_multiplexer.hpp>
#include <caf/io/system_messages.hpp>

namespace qtc {

namespace {

caf::behavior peer_manager(caf::io::broker* self, caf::io::doorman_ptr listener,
                           std::string host) {
  auto log = std::make_shared<logger>(self->system(), "peers");
  std::uint16_t port = listener->port();
  self->add_doorman(std::move(listener));
  log->info("listening for peers", {{"address", host + ":" + std::to_string(port)},
                                    {"port", std::to_string(port)}});
  auto accepted = std::make_shared<std::uint64_t>(0);
  return {
    [self, log, accepted](const caf::io::new_connection_msg& msg) {
      ++*accepted;
      auto remote = self->remote_addr(msg.handle) + ":" + std::to_string(self->remote_port(msg.handle));
      log->info("inbound connection closed: peer sessions are not implemented yet",
                {{"remote", remote}});
      self->close(msg.handle);
    },
    [](const caf::io::connection_closed_msg&) {},
    [](const caf::io::new_data_msg&) {},
    [self, host, port, accepted](status_atom, status_verbosity) -> status_report {
      caf::settings result;
      caf::put(result, "name", "peers");
      caf::put(result, "state", "listening");
      caf::put(result, "address", host + ":" + std::to_string(port));
      caf::put(result, "inbound-refused", static_cast<caf::config_value::integer>(*accepted));
      return result;
    },
  };
}

} // namespace

caf::expected<caf::actor> start_peer_manager(caf::actor_system& sys, const std::string& host,
                                             std::uint16_t port) {
  auto& mm = sys.middleman();
  auto listener = mm.backend().new_tcp_doorman(port, host.c_str(), true);
  if (!listener)
    return make_error(errc::bind_failed, "peers: cannot listen on " + host + ":"
                                           + std::to_string(port) + ": "
                                           + render_error(listener.error()));
  return mm.spawn_broker(peer_manager, std::move(*listener), host);
}

} // namespace qtc
