// The NAT mapper: where this node can be reached from the Internet.
//
// It asks the chain spec's STUN servers for our external address and the NAT's behaviour
// (runtime/nat/nat_probe, RFC 8489 and 5780), maps the P2P port on the gateway (runtime/nat/
// port_mapper: PCP, NAT-PMP, then UPnP through its detached UPnP worker), renews the mapping at
// half its lease and removes it when the node stops, counts the address peers say they see us
// at (runtime/nat/address_votes), and tells its subscriber (the peer manager) what to advertise
// (runtime/nat/advertisement). STUN rounds repeat every nat.probe_interval.
//
// Nothing here blocks: the UDP sockets are polled on the actor clock while requests are under
// way, STUN server names resolve through the node's non-blocking resolver, and miniupnpc runs in
// the worker's own thread. Every outside dependency (sockets, gateway lookup, host addresses,
// resolver, UPnP worker) comes in through nat_environment, which the simulator replaces.
#pragma once

#include "actors/support/logger.hpp"
#include "actors/support/metered.hpp"
#include "actors/support/metrics_client.hpp"
#include "messages/interfaces.hpp"
#include "runtime/chain/chain_spec.hpp"
#include "runtime/io/dns_resolver.hpp"
#include "runtime/io/udp_port.hpp"
#include "runtime/nat/address_votes.hpp"
#include "runtime/nat/nat_probe.hpp"
#include "runtime/nat/port_mapper.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <array>
#include <cmath>
#include <functional>
#include <memory>
#include <optional>
#include <random>

namespace qtc {

/// The NAT mapper's view of the host and its network (production: runtime/io; simulator: its own).
struct nat_environment {
  /// A UDP socket on an ephemeral port (one for STUN, one for the gateway).
  std::function<std::unique_ptr<udp_port>(std::string& error)> open_port;
  std::function<std::optional<ip_bytes>()> gateway; ///< the default gateway (IPv4)
  /// The local address packets to `dest` leave from.
  std::function<std::optional<ip_bytes>(const ip_bytes& dest)> local_toward;
  std::function<std::vector<ip_bytes>()> local_addresses; ///< this host's addresses
  std::shared_ptr<dns_resolver> resolver;                 ///< for STUN server names
  /// Starts the UPnP worker, linked to `self` (production: detached, miniupnpc).
  std::function<upnp_worker_actor(caf::local_actor* self)> start_upnp;
};

/// The production environment: real sockets, /proc/net/route, getifaddrs, miniupnpc.
nat_environment host_nat_environment(std::shared_ptr<dns_resolver> resolver);

/// How long a stopping NAT mapper waits for the UPnP worker to remove the mapping (the node's
/// tree gives the nat child nat_shutdown_timeout to stop).
constexpr std::chrono::seconds nat_upnp_removal_timeout{4};
constexpr std::chrono::seconds nat_shutdown_timeout{5};

struct nat_mapper_config {
  nat_settings settings;                       ///< the chain spec's [nat]
  bool allow_private = false;                  ///< the chain spec allows private peer addresses
  std::uint16_t listen_port = 0;               ///< the P2P port to map and advertise (0: not known)
  std::uint64_t seed = 0;                      ///< transaction ids and nonces (0: from the system)
  std::chrono::milliseconds poll_interval{10}; ///< socket polling while requests are under way
  std::chrono::seconds idle_tick{1};           ///< checks timers while nothing is under way
};

struct nat_mapper_state {
  logger log;
  metrics_client metrics;
  nat_mapper_config config;
  nat_environment env;
  std::mt19937_64 rng;
  std::shared_ptr<udp_port> stun_port;    ///< STUN: the mapping tests
  std::shared_ptr<udp_port> filter_port;  ///< STUN: the filtering tests (a fresh binding)
  std::shared_ptr<udp_port> gateway_port; ///< PCP and NAT-PMP (kept for the shutdown removal)
  std::vector<nat::stun_server> servers;  ///< resolved
  std::map<std::uint64_t, std::string> resolving; ///< resolver query id -> "host:port"
  bool resolved_for_round = false; ///< the next round's names are resolved (or resolving)
  std::optional<nat::nat_probe> probe;
  std::optional<nat::probe_result> last_probe; ///< the last finished round
  std::shared_ptr<nat::port_mapper> mapper;    ///< shared with the exit hook (removal)
  upnp_worker_actor upnp;
  nat::address_votes votes;
  std::vector<ip_bytes> local;
  self_advertisement advertised;
  advertisement_subscriber_actor subscriber;
  std::chrono::steady_clock::time_point next_probe{};
  metric_labels info_labels; ///< the nat_info series set to 1 now
  /// The values last sent of the reachable, mapping-expiry and confirmations gauges (NaN:
  /// none yet), so that a tick sends only what changed.
  std::array<double, 3> gauges_sent{std::nan(""), std::nan(""), std::nan("")};
  std::uint64_t rounds = 0;
  bool ticking = false;
  static inline const char* name = "nat_mapper";
};

using nat_mapper_pointer = metered_pointer<nat_actor, nat_mapper_state>;

nat_actor::behavior_type nat_mapper(nat_mapper_pointer self, nat_mapper_config config,
                                    nat_environment env);

} // namespace qtc
