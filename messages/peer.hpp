// Messages about peers between the node's actors: a session's handshake result, its end, and
// the close reasons the peer manager records and scores.
#pragma once

#include "messages/atoms.hpp"
#include "messages/field.hpp"
#include "messages/p2p.hpp"
#include "messages/security.hpp"
#include "messages/status.hpp"

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <cstdint>
#include <string>

namespace qtc {

/// Why a session ended. The peer manager scores the protocol violations among them.
enum class close_reason : std::uint8_t {
  none = 0,
  connect_failed,       ///< the TCP connection could not be made or broke before any byte
  connect_timeout,      ///< connect plus transport handshake exceeded connect_timeout
  transport_failed,     ///< the secure channel failed (see transport_error)
  wire_error,           ///< a frame or payload did not decode (see wire_error)
  protocol_violation,   ///< a message out of order (e.g. before version)
  version_timeout,      ///< no verack within version_timeout after the transport handshake
  version_too_old,      ///< the peer's protocol version is below the chain spec's minimum
  self_connection,      ///< the peer's version nonce is ours: we connected to ourselves
  ping_timeout,         ///< a ping went unanswered for ping_timeout
  inactivity,           ///< nothing received for inactivity_timeout
  send_queue_full,      ///< the peer does not read: unsent bytes exceeded max_send_queue
  peer_closed,          ///< the peer closed the connection
  shutdown,             ///< this node is stopping or the operator disconnected the peer
  evicted,              ///< the peer manager made room for a better peer
  duplicate,            ///< already connected to this node (same static key)
  misbehaviour,         ///< the peer broke a relay rule (e.g. a compact-block answer that does not
                        ///< fit the request); weighed by the security manager like every
                        ///< violation
  invalid_data,         ///< the peer sent invalid headers or blocks
  stalling,             ///< the peer held up block download
  unwanted,             ///< not needed any more (feeler done, pool full, not useful)
  session_failed,       ///< this node's session actor failed: a fault of ours, not the peer's
  frame_timeout,        ///< a frame begun was not completed within frame_timeout (trickled)
  send_stalled,         ///< answers waited to be written and nothing was for send_stall_timeout
  quantumproof_missing, ///< the peer's first message after the transport was not its proof
  quantumproof_timeout, ///< no proof within quantumproof_timeout of the transport handshake
  quantumproof_malformed, ///< a proof of unknown type, or a key or signature of the wrong size
  quantumproof_invalid,   ///< a proof for another session, or whose signature does not verify
  pin_mismatch,           ///< the proof verified, but the node id is not the one pinned
};

std::string to_string(close_reason x);

/// The number of close reasons (none included), for tables and label sets indexed by reason.
inline constexpr std::size_t close_reason_count =
    static_cast<std::size_t>(close_reason::pin_mismatch) + 1;

/// Whether the reason is the peer's fault (the peer manager scores it).
bool is_violation(close_reason x);

/// How a connection came to be (Bitcoin Core's connection types).
enum class connection_type : std::uint8_t {
  inbound,             ///< the peer connected to us
  outbound_full_relay, ///< one of the automatic outbound slots relaying blocks, addresses, txs
  block_relay,         ///< an outbound slot relaying blocks only (eclipse resistance)
  feeler,              ///< a short connection testing an address from the new table
  manual,              ///< configured by the operator (--connect / --addnode)
};

std::string to_string(connection_type x);

/// The byte carrier of one connection: a broker owning a TCP socket in production, an in-memory
/// link in the simulator. The session on top does not know which.
using peer_link_actor = caf::typed_actor<
    // Writes bytes to the peer (the link acknowledges with `written`).
    caf::reacts_to<write_atom, bytes>,
    // Writes what is queued, then closes the connection and stops.
    caf::reacts_to<close_atom>,
    // Stops (false) or resumes (true) reading from the peer: while its session waits for rate
    // allowance, the socket is not read and the peer's TCP window fills (backpressure).
    caf::reacts_to<read_atom, bool>>;

/// One answer to a peer's request, serialized: a command and its payload (a stored block as it
/// is in the store).
struct peer_answer {
  std::string command;
  bytes payload;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer_answer& x) {
  return f(caf::meta::type_name("peer_answer"), field("command"), x.command, field("payload"),
           x.payload);
}

/// One peer connection's session (actors/peer_session): runs peer_session_core on the bytes of
/// its link and reports to the peer manager and the sync coordinator.
using peer_session_actor = status_actor::extend<
    // The link is attached (for an outbound connection: the connection attempt is under way).
    caf::reacts_to<link_atom, peer_link_actor>,
    // Bytes from the peer.
    caf::reacts_to<data_atom, bytes>,
    // The link has written this many bytes in total (the send-queue bound counts the rest).
    caf::reacts_to<written_atom, std::uint64_t>,
    // The link closed: the peer hung up or the connection failed.
    caf::reacts_to<linkdown_atom>,
    // The link closed; the flag says whether the connection had been established (a link that
    // cannot tell sends the plain form).
    caf::reacts_to<linkdown_atom, bool>,
    // Sends a message to the peer (dropped unless the session is ready).
    caf::reacts_to<send_atom, p2p_message>,
    // Sends an already serialized payload under a command (e.g. a stored block).
    caf::reacts_to<send_atom, std::string, bytes>,
    // Sends answers to the peer's requests (blocks, a transaction, headers) in order like the
    // above, and replies once the bytes not yet written to the peer are below the session's
    // serving mark (true), or the session ended (false). Whoever serves a peer sends its next
    // answers only then, so what the node builds for one peer is bounded by how fast that peer
    // reads. Several answers in one message: a getdata's blocks read from the store together
    // cost one message and one acknowledgement, not one each.
    caf::replies_to<serve_atom, std::vector<peer_answer>>::with<bool>,
    // Ends the session for a reason (the peer manager's decision: eviction, misbehaviour...).
    caf::reacts_to<close_atom, close_reason, std::string>,
    // (internal) Timeouts and pings: one timer, due when the session next has something to do
    // (peer_session_core::next_tick).
    caf::reacts_to<tick_atom>,
    // (internal) Asks the security manager for rate allowance again (after a short grant).
    caf::reacts_to<grant_atom>>;

/// The accepting end of a connection (a TCP link broker, or the simulator's in-memory link): a
/// peer link that is told which session owns it.
using accepted_link_actor = peer_link_actor::extend<
    // The session that owns this connection; reading starts now.
    caf::reacts_to<attach_atom, peer_session_actor>>;

/// A session that completed its handshake, as the peer manager and the sync coordinator see it.
struct peer_info {
  std::uint64_t id = 0; ///< the peer manager's id of the connection
  peer_session_actor session;
  connection_type type = connection_type::inbound;
  std::string remote;         ///< "ip:port" as connected
  std::string transport;      ///< "noise" or "tls"
  bool post_quantum = false;  ///< its keys rest on ML-KEM-768 too (hybrid Noise, TLS group)
  std::string static_key_hex; ///< the peer's authenticated static key
  std::string node_id_hex;    ///< SHA-256(static key || ML-DSA key), proven by its QuantumProof
  std::int32_t version = 0;
  std::uint64_t services = 0;
  std::string user_agent;
  std::int32_t start_height = 0;
  bool relay = true;
  peer_permissions permissions; ///< what the operator's allowlist grants its address
  /// Where the peer sees us (its version's addr_recv): for the NAT mapper's peer confirmation.
  std::array<std::uint8_t, 16> observed_ip{};
  std::uint16_t observed_port = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer_info& x) {
  return f(caf::meta::type_name("peer_info"), field("id"), x.id, field("session"), x.session,
           field("type"), x.type, field("remote"), x.remote, field("transport"), x.transport,
           field("post_quantum"), x.post_quantum, field("static_key"), x.static_key_hex,
           field("node_id"), x.node_id_hex, field("version"), x.version, field("services"),
           x.services, field("user_agent"), x.user_agent, field("start_height"), x.start_height,
           field("relay"), x.relay, field("permissions"), x.permissions, field("observed_ip"),
           x.observed_ip, field("observed_port"), x.observed_port);
}

/// A session that ended.
struct peer_closed {
  std::uint64_t id = 0;
  connection_type type = connection_type::inbound;
  std::string remote;
  bool was_ready = false; ///< it had completed the handshake
  close_reason reason = close_reason::none;
  std::string detail;
  std::string transport;              ///< the transport it used or tried
  std::uint8_t transport_failure = 0; ///< a transport_error (0: none)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer_closed& x) {
  return f(caf::meta::type_name("peer_closed"), field("id"), x.id, field("type"), x.type,
           field("remote"), x.remote, field("was_ready"), x.was_ready, field("reason"), x.reason,
           field("detail"), x.detail, field("transport"), x.transport, field("transport_failure"),
           x.transport_failure);
}

/// What a session has measured about its peer, sent to the peer manager every few seconds and
/// when the session ends: the latency and traffic parts of the peer's score.
/// Traffic of one command in one direction since a session's last activity report.
struct command_traffic {
  std::uint8_t command = 0; ///< a command label index (messages/p2p's command_label_index)
  bool sent = false;        ///< written for the peer (else taken from it)
  std::uint64_t messages = 0;
  std::uint64_t bytes = 0; ///< plaintext frame bytes, headers included
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, command_traffic& x) {
  return f(caf::meta::type_name("command_traffic"), field("command"), x.command, field("sent"),
           x.sent, field("messages"), x.messages, field("bytes"), x.bytes);
}

struct peer_activity {
  std::uint64_t id = 0;
  std::int64_t min_ping_us = -1;  ///< lowest ping round trip seen (-1: no pong yet)
  std::int64_t last_ping_us = -1; ///< the latest round trip
  std::uint64_t bytes_sent = 0;
  std::uint64_t bytes_received = 0;
  std::uint64_t messages_sent = 0;
  std::uint64_t messages_received = 0;
  /// What changed by command since the last report (only commands that moved).
  std::vector<command_traffic> traffic;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer_activity& x) {
  return f(caf::meta::type_name("peer_activity"), field("id"), x.id, field("min_ping_us"),
           x.min_ping_us, field("last_ping_us"), x.last_ping_us, field("bytes_sent"), x.bytes_sent,
           field("bytes_received"), x.bytes_received, field("messages_sent"), x.messages_sent,
           field("messages_received"), x.messages_received, field("traffic"), x.traffic);
}

/// What a peer delivered to the sync coordinator since its last report: the usefulness part of
/// the peer's score (and what inbound eviction protects: recent block senders).
struct peer_usefulness {
  std::uint64_t id = 0;
  std::uint64_t new_headers = 0; ///< headers that extended our header tree
  std::uint64_t new_blocks = 0;  ///< blocks we had asked for and accepted
  std::int32_t best_height = -1; ///< the best height the peer has shown us (-1: none yet)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer_usefulness& x) {
  return f(caf::meta::type_name("peer_usefulness"), field("id"), x.id, field("new_headers"),
           x.new_headers, field("new_blocks"), x.new_blocks, field("best_height"), x.best_height);
}

} // namespace qtc

// P2P messages travel between the node's actors only inside one process (sessions decode them
// in parallel, the sync coordinator and the peer manager consume them); they are never
// serialized by CAF.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(qtc::p2p_message)
