// The peer manager: owns the P2P listening socket and the pool of peer sessions.
//
// - Inbound: every accepted connection gets a session (actors/peer_session) and a TCP link
//   forked off the listener, unless the pool's inbound slots are full, the address is banned,
//   or the per-address / per-subnet limits of the chain spec's [dos] table are reached.
// - Outbound: keeps the full-relay and block-relay-only slots filled from the candidate
//   addresses (discovery, relay), one network group per outbound peer; keeps the operator's
//   peers (--connect, --addnode) connected; retries a Noise attempt over TLS when the peer
//   turned out not to speak Noise, logging why.
// - Records every session's end with its typed reason; protocol violations are reported to the
//   security manager, whose bans it keeps a copy of (checked before every connection).
// - Keeps known addresses in the address manager (runtime/net/address_manager), stored with the
//   chain every minute when changed and reloaded at start; answers getaddr once per inbound
//   connection and takes addr/addrv2 into it; asks discovery for more when it runs short.
// - Scores every peer on what its session measures (ping, traffic) and what the sync
//   coordinator says it delivered (new headers and blocks); the score is in the status.
// - Keeps the pool healthy as Bitcoin Core does: when the inbound slots are full a new inbound
//   peer evicts one chosen by runtime/net/peer_eviction (or is refused); feeler connections test
//   addresses from the new table every couple of minutes once the outbound slots are full; an
//   automatic outbound peer that has stayed behind our chain for a long time without delivering
//   anything is asked for headers from our tip, and replaced if that shows it is still behind.
#pragma once

#include "actors/peer_manager_state.hpp"

#include <caf/actor_system.hpp>
#include <caf/expected.hpp>

#include <string>

namespace qtc {

/// What the peer manager starts with.
struct peer_manager_config {
  std::string address; ///< where peers reach us ("host:port"), for status and logs
  std::shared_ptr<const chain_spec> spec;
  std::shared_ptr<const channel_context> context;
  session_settings settings;
  peer_pool_options pool;
  std::shared_ptr<peer_dialer> dialer; ///< how outbound connections are made
  /// The node's supervisor: the sync coordinator, storage and discovery are found there, again
  /// after they restart. Without one, `sync` is used as given (tests).
  supervisor_actor parent;
  sync_actor sync;
};

peer_manager_actor::behavior_type peer_manager(peer_manager_pointer self,
                                               peer_manager_config config);

/// Binds the P2P listener on host:port (synchronously, so a bad address fails the start),
/// spawns the peer manager with a TCP dialer leaving from `host`, and the listener broker
/// linked to it. `port` 0 picks a free port; the bound port is logged.
caf::expected<caf::actor> start_peer_manager(caf::actor_system& sys, const std::string& host,
                                             std::uint16_t port, peer_manager_config config);

} // namespace qtc
