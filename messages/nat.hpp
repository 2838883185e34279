// The vocabulary of the NAT mapper (actors/nat_mapper): what it learned about the node's place
// behind a NAT (RFC 5780 mapping and filtering behaviour), which gateway protocol mapped the P2P
// port, and the address it gives the peer manager to advertise. The UPnP worker's requests and
// answers are here too: miniupnpc blocks, so UPnP runs in its own detached actor.
#pragma once

#include "messages/field.hpp"

#include <caf/meta/type_name.hpp>

#include <array>
#include <cstdint>
#include <string>

namespace qtc {

/// RFC 5780's behaviours, for mapping (how the NAT picks the external address and port) and
/// filtering (which outside endpoints may send back through a mapping).
enum class nat_behaviour : std::uint8_t {
  unknown,                    ///< not (yet) determined
  no_nat,                     ///< the mapped address is one of our own: nothing translates
  endpoint_independent,       ///< the same for every remote endpoint
  address_dependent,          ///< depends on the remote address only
  address_and_port_dependent, ///< depends on the remote address and port
};

/// "unknown", "no-nat", "endpoint-independent", "address-dependent",
/// "address-and-port-dependent".
std::string to_string(nat_behaviour x);

/// How the P2P port was mapped on the gateway (Bitcoin Core v29's order, then UPnP).
enum class port_mapping_method : std::uint8_t { none, pcp, natpmp, upnp };

/// "none", "pcp", "natpmp", "upnp".
std::string to_string(port_mapping_method x);

/// Where this node can be reached, as the NAT mapper knows it: what the peer manager advertises
/// in `addr`/`addrv2` and puts in its `version` messages' addr_from.
struct self_advertisement {
  /// The NAT mapper has a result. Without one (mapper off, or still probing) the peer manager
  /// advertises its listening address if that is a usable peer address, as before.
  bool known = false;
  /// Peers can connect to ip:port. Known but unreachable (symmetric NAT, no mapping): the node
  /// does not advertise itself.
  bool reachable = false;
  std::array<std::uint8_t, 16> ip{}; ///< IPv4 as ::ffff:a.b.c.d
  std::uint16_t port = 0;
  /// Why it is reachable: "pcp", "natpmp", "upnp" (a mapped port), "no-nat", "full-cone" (the
  /// listening port behind an endpoint-independent NAT), "peers" (the address peers agree on,
  /// with a mapped port).
  std::string source;
  friend bool operator==(const self_advertisement&, const self_advertisement&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, self_advertisement& x) {
  return f(caf::meta::type_name("self_advertisement"), field("known"), x.known, field("reachable"),
           x.reachable, field("ip"), x.ip, field("port"), x.port, field("source"), x.source);
}

/// A port mapping the UPnP worker is asked to make (or renew): TCP external_port on the gateway
/// to internal_ip:internal_port, for lease_seconds.
struct upnp_mapping_request {
  std::uint16_t external_port = 0;
  std::array<std::uint8_t, 16> internal_ip{};
  std::uint16_t internal_port = 0;
  std::uint32_t lease_seconds = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, upnp_mapping_request& x) {
  return f(caf::meta::type_name("upnp_mapping_request"), field("external_port"), x.external_port,
           field("internal_ip"), x.internal_ip, field("internal_port"), x.internal_port,
           field("lease_seconds"), x.lease_seconds);
}

/// The UPnP worker's answer: the mapping and the gateway's external address, or what failed.
struct upnp_mapping_result {
  bool ok = false;
  std::string error; ///< the failed step and miniupnpc's code, when !ok
  std::array<std::uint8_t, 16> external_ip{};
  std::uint16_t external_port = 0;
  std::uint32_t lease_seconds = 0; ///< granted; 0: permanent (the gateway refused leases: 725)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, upnp_mapping_result& x) {
  return f(caf::meta::type_name("upnp_mapping_result"), field("ok"), x.ok, field("error"), x.error,
           field("external_ip"), x.external_ip, field("external_port"), x.external_port,
           field("lease_seconds"), x.lease_seconds);
}

} // namespace qtc
