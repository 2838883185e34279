// The UPnP worker: the NAT mapper's hands for UPnP IGD. miniupnpc blocks (SSDP discovery waits
// for answers; each SOAP call is an HTTP request with its own socket timeout), so this actor is
// spawned detached — its own thread — and linked to the NAT mapper. It discovers the gateway on
// first use (again if a mapping fails, in case the gateway changed), adds or renews the mapping
// with a lease (permanent if the gateway refuses leases: error 725), reads the external address,
// and removes what it mapped when it stops (the node shutting down).
#pragma once

#include "actors/support/logger.hpp"
#include "actors/support/metered.hpp"
#include "messages/interfaces.hpp"
#include "runtime/io/upnp_client.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <optional>

namespace qtc {

struct upnp_worker_options {
  int discover_timeout_ms = 2000; ///< how long SSDP discovery waits for gateways to answer
};

struct upnp_worker_state {
  logger log;
  upnp_worker_options options;
  std::optional<upnp_client> client;        ///< after a successful discovery
  std::optional<std::uint16_t> mapped_port; ///< what to remove when stopping
  static inline const char* name = "upnp_worker";
};

using upnp_worker_pointer = metered_pointer<upnp_worker_actor, upnp_worker_state>;

upnp_worker_actor::behavior_type upnp_worker(upnp_worker_pointer self, upnp_worker_options options);

} // namespace qtc
