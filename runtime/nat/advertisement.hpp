// Where the node tells peers it can be reached, decided from what the NAT mapper knows. In order:
//   1. a port mapped on the gateway (PCP, NAT-PMP, UPnP): its external address and port (the
//      address from STUN, or from peers, when the method gave none);
//   2. no NAT (STUN's mapped address, or the address peers agree on, is one of ours): that
//      address with the listening port;
//   3. a full-cone NAT (endpoint-independent mapping and filtering): STUN's address with the
//      listening port, which the NAT forwards to us;
//   4. anything else that STUN answered (symmetric or restricted NAT, no mapping): known to be
//      unreachable, so the node does not advertise itself;
//   5. nothing answered yet: unknown, and the peer manager keeps its own rule.
#pragma once

#include "messages/nat.hpp"
#include "runtime/nat/nat_probe.hpp"
#include "runtime/nat/port_mapper.hpp"

#include <optional>
#include <vector>

namespace qtc::nat {

struct advertisement_inputs {
  const probe_result* probe = nullptr; ///< the last finished probe, if any
  const port_mapping* mapping = nullptr;
  std::optional<ip_bytes> peers_confirmed; ///< the address enough peers agree on
  std::vector<ip_bytes> local;             ///< this host's addresses
  std::uint16_t listen_port = 0;
  bool mapping_given_up = false; ///< every mapping method failed (or none is enabled)
};

self_advertisement decide_advertisement(const advertisement_inputs& in);

} // namespace qtc::nat

namespace qtc::nat {

/// The classic name of a NAT from its RFC 5780 behaviours: "none", "full-cone",
/// "restricted-cone", "port-restricted-cone", "cone" (endpoint-independent mapping, filtering
/// unknown), "symmetric" (any dependent mapping), or "unknown".
std::string nat_type_name(nat_behaviour mapping, nat_behaviour filtering);

} // namespace qtc::nat
