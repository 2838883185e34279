#include "actors/upnp_worker.hpp"

#include <caf/exit_reason.hpp>

namespace qtc {

namespace {

/// Discovers the gateway if none is known; false with `error` if there is none.
bool ensure_gateway(upnp_worker_pointer self, std::string& error) {
  auto& st = self->state;
  if (st.client)
    return true;
  upnp_client client;
  if (!client.discover(st.options.discover_timeout_ms, error))
    return false;
  st.log.info("UPnP gateway found", {{"control_url", client.gateway().control_url},
                                     {"lan_address", client.gateway().lan_address}});
  st.client.emplace(std::move(client));
  return true;
}

upnp_mapping_result try_map(upnp_worker_pointer self, const upnp_mapping_request& r) {
  auto& st = self->state;
  upnp_mapping_result result;
  if (!ensure_gateway(self, result.error))
    return result;
  std::uint32_t granted = 0;
  std::string error;
  if (!st.client->add_port_mapping(r.external_port, r.internal_ip, r.internal_port, r.lease_seconds,
                                   "qtcnode P2P", granted, error)) {
    result.error = error;
    st.client.reset(); // discovered again next time: the gateway may have changed
    return result;
  }
  st.mapped_port = r.external_port;
  result.ok = true;
  result.external_port = r.external_port;
  result.lease_seconds = granted;
  if (auto ip = st.client->external_ip(error))
    result.external_ip = *ip;
  else
    st.log.warning("UPnP gateway did not tell its external address", {{"reason", error}});
  return result;
}

void remove_mapping(upnp_worker_pointer self) {
  auto& st = self->state;
  if (!st.mapped_port || !st.client)
    return;
  std::string error;
  if (st.client->delete_port_mapping(*st.mapped_port, error))
    st.log.info("port mapping removed",
                {{"method", "upnp"}, {"external_port", std::to_string(*st.mapped_port)}});
  else
    st.log.warning("UPnP mapping not removed", {{"reason", error}});
  st.mapped_port.reset();
}

} // namespace

upnp_worker_actor::behavior_type upnp_worker(upnp_worker_pointer self,
                                             upnp_worker_options options) {
  self->state.log = logger{self->system(), "upnp"};
  self->state.options = options;
  // Linked to the NAT mapper: its end (the node stopping) is ours, after removing the mapping.
  self->set_exit_handler([self](caf::exit_msg& msg) {
    remove_mapping(self);
    self->quit(msg.reason);
  });
  return {
      [self](map_atom, const upnp_mapping_request& r) { return try_map(self, r); },
      [self](delete_atom, std::uint16_t port) {
        auto& st = self->state;
        std::string error;
        bool ok = st.client && st.client->delete_port_mapping(port, error);
        if (ok) {
          st.log.info("port mapping removed",
                      {{"method", "upnp"}, {"external_port", std::to_string(port)}});
          if (st.mapped_port == port)
            st.mapped_port.reset();
        } else {
          st.log.warning("UPnP mapping not removed", {{"reason", error}});
        }
        return ok;
      },
  };
}

} // namespace qtc
