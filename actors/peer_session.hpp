// The peer-session actor: one per connection. It runs peer_session_core on the bytes of its link
// (actors/tcp_link in production, actors/memory_link in the simulator), ticks its timeouts on
// the actor clock (one timer, due when the core next has something to do), and reports the
// session's life to its observers: `ready` when the handshake completes, every message from the
// peer, and `closed` with the typed reason.
//
// Rate limits: when the core holds a message for want of allowance, the session stops its link
// reading and asks the security manager for a grant out of the address's budget; a short grant
// is asked again when the budget has refilled (docs/protocol.md, "Rate limits").
//
// Routing: address messages (addr, addrv2, getaddr, sendaddrv2) go to the peer manager, which
// owns the address manager; everything else (headers, blocks, inventory, requests) goes to the
// sync coordinator.
#pragma once

#include "actors/support/logger.hpp"
#include "actors/support/metered.hpp"
#include "messages/interfaces.hpp"
#include "runtime/net/ip_address.hpp"
#include "runtime/session/peer_session_core.hpp"
#include "runtime/transport/channel_select.hpp"

#include <botan/chacha_rng.h>
#include <caf/typed_response_promise.hpp>

#include <memory>
#include <optional>
#include <vector>

namespace qtc {

/// Everything a session needs to start.
struct peer_session_config {
  std::uint64_t id = 0;
  connection_type type = connection_type::inbound;
  ip_bytes ip{};
  std::uint16_t port = 0;
  transport_kind transport = transport_kind::noise; ///< outbound: the transport to try
  std::optional<node_id> pinned; ///< outbound: the node id the peer's QuantumProof must name
  session_settings settings;
  std::uint64_t seed = 0; ///< seeds the session's RNG (ephemeral keys, ping nonces)
  /// The node's identity and transport parameters, shared by all sessions (read-only).
  std::shared_ptr<const channel_context> context;
  peer_manager_actor manager;
  peer_observer_actor sync; ///< null for feelers: they only test the address
  /// Grants rate allowance (settings.rate_limited); null: no rate limits.
  security_actor security;
  peer_permissions permissions; ///< the allowlist's for its address (reported in peer_info)
};

struct peer_session_state {
  peer_session_config config;
  std::string remote;
  logger log;
  // The RNG outlives the channel that holds a reference to it (declared first, destroyed last).
  std::unique_ptr<Botan::ChaCha_RNG> rng;
  channel_context context; ///< the shared context with this session's RNG
  std::unique_ptr<peer_session_core> core;
  peer_link_actor link;
  bool reported_ready = false;
  bool finished = false;
  /// When the pending tick timer is due (schedule_tick); none before the first is set.
  std::optional<peer_session_core::time_point> tick_at;
  /// Messages sent and received as of the last activity report, and when it left.
  std::uint64_t reported_messages = 0;
  peer_session_core::time_point reported_at{};
  /// Answers whose acknowledgement waits for the peer to read (see serve_ahead): a few at
  /// most, so a vector (an empty deque costs every idle peer 576 bytes).
  std::vector<caf::typed_response_promise<bool>> serve_waiters;
  bool reading_paused = false; ///< the link was told to stop reading (waiting for allowance)
  bool grant_asked = false;    ///< a grant request to the security manager is under way
  bool grant_retry = false;    ///< a short grant's retry is scheduled
  /// The by-command counters as last reported (the next report carries what changed).
  command_tallies reported_received{};
  command_tallies reported_sent{};
  static inline const char* name = "peer_session";
};

using peer_session_pointer = metered_pointer<peer_session_actor, peer_session_state>;

peer_session_actor::behavior_type peer_session(peer_session_pointer self,
                                               peer_session_config config);

} // namespace qtc
