// The peer manager: owns the P2P listening socket and the pool of peer sessions.
//
// - Inbound: every accepted connection gets a session (actors/peer_session) and a TCP link
//   forked off the listener, unless the pool's inbound slots are full, the address is banned,
//   or the per-address / per-subnet limits of the chain spec's [dos] table are reached.
// - Outbound: keeps the full-relay and block-relay-only slots filled from the candidate
//   addresses (discovery, relay), one network group per outbound peer; keeps the operator's
//   peers (--connect, --addnode) connected; retries a Noise attempt over TLS when the peer
//   turned out not to speak Noise, logging why.
// - Records every session's end with its typed reason; protocol violations ban the address.
// - Keeps known addresses in the address manager (runtime/address_manager), stored with the
//   chain every minute when changed and reloaded at start; answers getaddr once per inbound
//   connection and takes addr/addrv2 into it.
#pragma once

#include "actors/peer_dialer.hpp"
#include "messages/interfaces.hpp"
#include "runtime/address_manager.hpp"
#include "runtime/chain_spec.hpp"
#include "runtime/channel_select.hpp"
#include "runtime/ip_address.hpp"
#include "runtime/logger.hpp"
#include "runtime/metrics_client.hpp"
#include "runtime/peer_session_core.hpp"
#include "runtime/token_bucket.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>

namespace qtc {

/// Pool sizes and the operator's peers.
struct peer_pool_options {
  std::uint32_t max_connections = 125;        ///< total (the chain spec's)
  std::uint32_t full_relay_slots = 8;         ///< automatic outbound full-relay connections
  std::uint32_t block_relay_slots = 2;        ///< automatic outbound block-relay-only connections
  std::vector<network_address_entry> connect; ///< --connect: only these, no automatic outbound
  std::vector<network_address_entry> addnode; ///< --addnode: kept connected, besides the slots
  std::chrono::seconds manual_retry{5};       ///< how often a lost manual peer is retried
  std::uint32_t max_pending_connects = 4;     ///< outbound attempts under way at once
  std::uint64_t seed = 0;                     ///< RNG seed (0: from the system RNG)
};

/// One session the manager knows, from spawn to close.
struct pool_entry {
  peer_session_actor session;
  connection_type type = connection_type::inbound;
  ip_bytes ip{};
  std::uint16_t port = 0;
  transport_kind transport = transport_kind::noise;
  std::optional<static_public_key> pinned;
  bool ready = false;
  bool getaddr_answered = false; ///< getaddr is answered once per connection
  bool wants_addrv2 = false;
  /// Addresses this peer may still send us: 0.1/s, 1000 granted with our getaddr (Core's rule).
  std::optional<token_bucket> addr_tokens;
  std::uint64_t addresses_rate_limited = 0;
  std::optional<std::size_t> manual; ///< index into the manual peers
  peer_info info;
  std::chrono::steady_clock::time_point started;
};

/// A manual peer (--connect / --addnode) and when it may be tried again.
struct manual_peer {
  network_address_entry entry;
  ip_bytes ip{};
  std::optional<static_public_key> pinned;
  std::optional<std::uint64_t> session; ///< the pool entry while connected or connecting
  std::chrono::steady_clock::time_point next_try{};
};

struct peer_manager_state {
  logger log;
  metrics_client metrics;
  std::shared_ptr<const chain_spec> spec;
  std::shared_ptr<const channel_context> context;
  session_settings settings; ///< the template every session starts from
  peer_pool_options pool;
  std::string address; ///< host:port the listener is bound to
  std::shared_ptr<peer_dialer> dialer;
  caf::actor parent;
  peer_observer_actor sync; ///< null until found: no sessions start without it
  bool looking_for_sync = false;
  std::mt19937_64 rng;
  std::uint64_t next_id = 1;
  std::map<std::uint64_t, pool_entry> entries;
  std::vector<manual_peer> manual;
  std::unique_ptr<address_manager> addrman; ///< known addresses (keyed new/tried tables)
  bool addrman_dirty = false;               ///< changed since it was last stored
  bool addrman_loaded = false;              ///< the stored tables were read (or there were none)
  storage_actor storage;                    ///< where the tables are kept (found via parent)
  std::chrono::steady_clock::time_point last_save{};
  std::int64_t start_unix = 0; ///< wall clock at start; Unix time = start_unix + actor clock
  std::chrono::steady_clock::time_point start_steady{};
  std::map<ip_bytes, std::chrono::steady_clock::time_point> banned; ///< until when
  std::deque<peer_closed> recent_closes;                            ///< the last 32, for status
  std::map<std::string, std::uint64_t> closes_by_reason;
  std::uint64_t inbound_refused = 0;
  static inline const char* name = "peer_manager";
};

using peer_manager_pointer = peer_manager_actor::stateful_pointer<peer_manager_state>;

/// What the peer manager starts with.
struct peer_manager_config {
  std::string address; ///< where peers reach us ("host:port"), for status and logs
  std::shared_ptr<const chain_spec> spec;
  std::shared_ptr<const channel_context> context;
  session_settings settings;
  peer_pool_options pool;
  std::shared_ptr<peer_dialer> dialer; ///< how outbound connections are made
  /// The node's supervisor: the sync coordinator is found there (`whereis "sync"`), again after
  /// it restarts. Without one, `sync` is used as given (tests).
  caf::actor parent;
  peer_observer_actor sync;
};

peer_manager_actor::behavior_type peer_manager(peer_manager_pointer self,
                                               peer_manager_config config);

/// Binds the P2P listener on host:port (synchronously, so a bad address fails the start),
/// spawns the peer manager with a TCP dialer leaving from `host`, and the listener broker
/// linked to it. `port` 0 picks a free port; the bound port is logged.
caf::expected<caf::actor> start_peer_manager(caf::actor_system& sys, const std::string& host,
                                             std::uint16_t port, peer_manager_config config);

} // namespace qtc
