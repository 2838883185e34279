// The peer manager: where this node can be reached, and telling peers. The NAT mapper decides
// (actors/nat_mapper); until it has (or without one), the listening address is advertised when
// it is a usable peer address, as before the mapper existed. What each outbound peer says it
// sees of us goes back to the NAT mapper as a second opinion.
#include "actors/peer_manager_state.hpp"

namespace qtc {

/// The address we advertise, if any.
std::optional<net_address> own_address(const peer_manager_state& st) {
  net_address a;
  a.services = st.settings.services;
  if (st.advertised.known) {
    if (!st.advertised.reachable)
      return std::nullopt;
    a.ip = st.advertised.ip;
    a.port = st.advertised.port;
    return a;
  }
  auto colon = st.address.rfind(':');
  auto ip = parse_ip(st.address.substr(0, colon));
  if (!ip || !usable_peer_address(*ip, st.spec->allow_private_addresses))
    return std::nullopt;
  a.ip = *ip;
  a.port = static_cast<std::uint16_t>(std::stoi(st.address.substr(colon + 1)));
  return a;
}

namespace {

/// One `addr` (or `addrv2`, to a peer that asked for it) entry announcing `a`.
p2p_message self_announcement(const net_address& a, std::uint32_t time, bool v2) {
  if (!v2)
    return addr_message{{timed_address{time, a}}};
  addrv2_entry e;
  e.time = time;
  e.services = a.services;
  e.port = a.port;
  if (is_ipv4(a.ip)) {
    e.network = static_cast<std::uint8_t>(bip155_network::ipv4);
    e.address.assign(a.ip.begin() + 12, a.ip.end());
  } else {
    e.network = static_cast<std::uint8_t>(bip155_network::ipv6);
    e.address.assign(a.ip.begin(), a.ip.end());
  }
  return addrv2_message{{e}};
}

} // namespace

/// Tells a peer where we can be reached (if we know an address peers can use).
void advertise_self(peer_manager_pointer self, const pool_entry& e) {
  auto own = own_address(self->state);
  if (!own)
    return;
  auto time = static_cast<std::uint32_t>(unix_now(self));
  self->send(e.session, send_atom::value, self_announcement(*own, time, e.wants_addrv2));
}

void find_nat(peer_manager_pointer self) {
  auto& st = self->state;
  if (!st.parent)
    return;
  st.nat.find(
      self, st.parent, std::chrono::seconds{5},
      [self](const nat_actor& nat) {
        self->monitor(nat);
        self->send(nat, subscribe_atom::value, advertisement_subscriber_actor{self});
      },
      [](const caf::error&) {
        // Not started yet or restarting: asked again on the next tick.
      });
}

/// The NAT mapper's new word: versions from now on carry it, and the outbound full-relay peers
/// hear it at once (peers that connect later hear it when they are asked for addresses).
void on_advertisement(peer_manager_pointer self, const self_advertisement& adv) {
  auto& st = self->state;
  if (adv == st.advertised)
    return;
  st.advertised = adv;
  auto own = own_address(st);
  st.settings.local_address = own.value_or(net_address{});
  if (!own) {
    st.log.info("not advertising this node", {{"known", adv.known ? "true" : "false"}});
    return;
  }
  st.log.info("advertising this node", {{"address", format_endpoint(own->ip, own->port)},
                                        {"source", adv.known ? adv.source : "listening"}});
  for (auto& [id, e] : st.entries)
    if (e.ready
        && (e.type == connection_type::outbound_full_relay || e.type == connection_type::manual))
      advertise_self(self, e);
}

/// What an outbound peer sees of us (an inbound peer's view is the address it dialled, which we
/// know) goes to the NAT mapper.
void report_observed_address(peer_manager_pointer self, const pool_entry& e) {
  auto& st = self->state;
  if (!st.nat || e.type == connection_type::inbound)
    return;
  self->send(st.nat.get(), observed_atom::value, e.info.observed_ip, e.info.observed_port, e.ip);
}

} // namespace qtc
