// The DNS seeder: how a fresh node that knows nothing but its chain spec finds peers.
//
// It asks every seed of the chain spec for A, AAAA, SRV and TXT records at once. A and AAAA give
// peers on the network's default port; SRV gives a target and port (the target is resolved in
// turn); TXT carries address entries `host:port`, `<pubkey>@host:port` or `tls:...` (names
// resolved in turn). Answers are cached for their TTL; a network or server failure is retried
// with exponential backoff; NXDOMAIN and empty answers are answers. Every usable address
// (runtime/net/ip_address: never unspecified, multicast, broadcast or documentation; loopback and
// private only where the chain spec allows) goes to the address sink with its source. When DNS
// has yielded nothing usable after the chain spec's dns_fallback_after, the bootstrap nodes are
// used. Each failure is logged once per (seed, type, cause) and counted.
//
// The resolver is behind runtime/io/dns_resolver: c-ares in production, a table in the simulator.
// The actor polls it on its own timer (never blocking) while queries are under way.
#pragma once

#include "actors/support/logger.hpp"
#include "actors/support/metered.hpp"
#include "actors/support/metrics_client.hpp"
#include "actors/support/sibling.hpp"
#include "messages/interfaces.hpp"
#include "runtime/chain/chain_spec.hpp"
#include "runtime/io/dns_resolver.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>

namespace qtc {

struct dns_seeder_options {
  std::chrono::milliseconds poll_interval{5}; ///< how often sockets are polled while busy
  std::uint32_t max_retries = 5;              ///< transient failures retried per round
  std::chrono::seconds first_backoff{1};      ///< doubled after each retry
  /// How long NXDOMAIN/no-data is remembered, and how long a seed whose round of retries all
  /// failed rests before a new round starts.
  std::chrono::seconds negative_ttl{60};
};

/// What the seeder knows about one (seed, record type).
struct dns_seed_query {
  std::string seed;
  dns_type type = dns_type::a;
  std::chrono::steady_clock::time_point fresh_until{}; ///< cached answer valid until
  std::chrono::steady_clock::time_point retry_at{};    ///< transient failure: next attempt
  std::uint32_t retries = 0;
  bool in_flight = false;
  std::string last; ///< "ok (n records)", or the failure
};

/// Why a query was made: a seed's record, or a name a SRV/TXT record pointed at.
struct dns_pending {
  std::string key; ///< the dns_seed_query key, or "" for a follow-up lookup
  std::string source;
  std::uint16_t port = 0;
  std::string pubkey_hex;
  bool tls_only = false;
};

struct dns_seeder_state {
  logger log;
  metrics_client metrics;
  std::shared_ptr<const chain_spec> spec;
  std::shared_ptr<dns_resolver> resolver;
  dns_seeder_options options;
  supervisor_actor parent;                       ///< where the peer manager is found
  sibling<peer_manager_actor> peers;             ///< found through the parent
  address_sink_actor sink;                       ///< the peer manager, once found
  std::vector<discovered_peer> undelivered;      ///< found before the sink was
  std::map<std::string, dns_seed_query> queries; ///< by "seed/TYPE"
  std::map<std::uint64_t, dns_pending> pending;  ///< by resolver query id
  std::set<std::string> logged_failures;         ///< "seed/TYPE/cause" already logged
  std::chrono::steady_clock::time_point started{};
  bool usable_found = false;
  bool fallback_done = false;
  bool ticking = false;
  std::uint64_t delivered = 0;
  std::uint64_t rejected = 0;
  std::uint64_t failures = 0;
  static inline const char* name = "dns_seeder";
};

using dns_seeder_pointer = metered_pointer<discovery_actor, dns_seeder_state>;

/// `parent`: the node's supervisor, where the peer manager is found. Without a parent,
/// `sink` is used as given (tests).
discovery_actor::behavior_type dns_seeder(dns_seeder_pointer self,
                                          std::shared_ptr<const chain_spec> spec,
                                          std::shared_ptr<dns_resolver> resolver,
                                          dns_seeder_options options, supervisor_actor parent,
                                          address_sink_actor sink);

} // namespace qtc
