// The vocabulary of the node's security policy: what a peer can do wrong (one bounded enum, so
// that metrics labels and log fields stay a fixed set), what the policy may decide about an
// address, and the permissions an operator grants to addresses it trusts.
//
// Sessions and the sync coordinator report offences as `peer_offence` events; the security
// manager (actors/security_manager, logic in runtime/net) weighs them and answers with verdicts.
#pragma once

#include "messages/field.hpp"

#include <caf/meta/type_name.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace qtc {

/// One kind of misbehaviour. The weight of each (how far one occurrence moves an address towards
/// a ban) is policy, in runtime/net; the list itself is the protocol every reporter speaks.
enum class offence : std::uint8_t {
  bad_checksum,          ///< a frame whose checksum is wrong (a buggy client as often as not)
  malformed_message,     ///< a payload that does not decode (wire error other than size)
  oversized_message,     ///< a frame announcing more than the payload limit
  unknown_message,       ///< a command the node does not know (one is fine; many are a flood)
  protocol_violation,    ///< a message out of order (before version, a second version, ...)
  handshake_failure,     ///< the transport handshake failed (bad Noise/TLS bytes)
  slow_handshake,        ///< no `version` within the handshake timeout, or a frame trickled in
  silent_peer,           ///< finished the handshake and then said nothing (slot holding)
  connection_churn,      ///< connected and left again too often
  rate_exceeded,         ///< kept sending unsolicited messages or bytes past its budget
  ping_flood,            ///< pings far faster than any keep-alive needs
  addr_flood,            ///< `addr`/`addrv2` past the address rate limit
  inv_flood,             ///< announcements past what relay can use
  getdata_flood,         ///< requests past what the node serves per peer
  getdata_amplification, ///< asks for far more bytes than it sends (bytes out / bytes in)
  header_spam,           ///< headers that do not connect, or low-work header chains
  invalid_header,        ///< a header that breaks consensus rules (proof of work, time, ...)
  invalid_block,         ///< a block that breaks consensus rules
  relay_violation,       ///< broke a relay rule (compact block answers that do not fit, ...)
  shared_identity,       ///< one static identity key on many connections
  bad_quantumproof,      ///< a QuantumProof missing, malformed, for another session, forged, or
                         ///< not matching the pinned node id
};

/// The number of offence kinds (for tables indexed by kind).
inline constexpr std::size_t offence_count =
    static_cast<std::size_t>(offence::bad_quantumproof) + 1;

/// The kebab-case name (log fields, metric labels, the ban list's file).
std::string to_string(offence x);

/// The kind named `text` (as to_string writes it), if any.
std::optional<offence> parse_offence(std::string_view text);

/// What the policy decides about an address, from mild to severe. Each step keeps the ones
/// before it: a throttled address is also warned about, a banned one refused outright.
enum class verdict : std::uint8_t {
  none,        ///< nothing to do
  warn,        ///< logged and counted, nothing else
  throttle,    ///< its sessions read more slowly (backpressure) until its score decays
  discourage,  ///< may still connect inbound when there is room, first evicted, never dialed
  ban,         ///< refused, in and out, until the ban expires
  ban_forever, ///< refused until the operator lifts it
};

std::string to_string(verdict x);

/// The security manager's answer to an inbound connection (the peer manager obeys it; the
/// inbound slots and eviction stay the peer manager's).
enum class admission : std::uint8_t {
  accept,
  accept_discouraged, ///< only into a free slot: nobody is evicted for it
  refuse_banned,
  refuse_per_ip,     ///< the chain spec's max_connections_per_ip are open from the address
  refuse_per_subnet, ///< max_connections_per_subnet are open from its subnet
  refuse_starting,   ///< the ban list is not loaded yet
};

/// "accept", "accept-discouraged", "refuse-banned", "refuse-per-ip", "refuse-per-subnet",
/// "refuse-starting".
std::string to_string(admission x);

/// Whether the connection may stay (accept or accept_discouraged): the security manager counts it.
constexpr bool accepted(admission x) {
  return x == admission::accept || x == admission::accept_discouraged;
}

/// Why an admission refuses, as the peer manager logs it (empty for the two accepts).
std::string refusal_reason(admission x);

/// What an operator's allowlist entry grants (Bitcoin Core's -whitelist permissions).
struct peer_permissions {
  bool noban = false;    ///< never banned, discouraged or throttled; offences are only logged
  bool relay = false;    ///< its transactions are relayed even when relay would refuse them
  bool download = false; ///< may download past upload limits (getdata amplification rules)
  friend bool operator==(const peer_permissions&, const peer_permissions&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer_permissions& x) {
  return f(caf::meta::type_name("peer_permissions"), field("noban"), x.noban, field("relay"),
           x.relay, field("download"), x.download);
}

/// One offence of one peer, as its session or the sync coordinator saw it.
struct peer_offence {
  std::uint64_t peer = 0;            ///< the session's id (0: not tied to a session)
  std::array<std::uint8_t, 16> ip{}; ///< its address (IPv4 as ::ffff:a.b.c.d)
  offence kind = offence::protocol_violation;
  std::string detail; ///< what exactly, for the log (bounded by the reporter: ≤ 200 bytes)
  friend bool operator==(const peer_offence&, const peer_offence&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer_offence& x) {
  return f(caf::meta::type_name("peer_offence"), field("peer"), x.peer, field("ip"), x.ip,
           field("kind"), x.kind, field("detail"), x.detail);
}

/// Allowance for a session's unsolicited traffic, out of its address's per-minute budget
/// (runtime/net/rate_budget). Less than asked means the address is over budget: the session
/// stops reading its socket and asks again after `retry_ms`.
struct rate_grant {
  std::uint32_t messages = 0;
  std::uint64_t bytes = 0;
  std::int64_t retry_ms = 0; ///< > 0 iff less than asked was granted: when the rest is there
  bool sustained = false;    ///< the address has been over budget for most of the last minute
  friend bool operator==(const rate_grant&, const rate_grant&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, rate_grant& x) {
  return f(caf::meta::type_name("rate_grant"), field("messages"), x.messages, field("bytes"),
           x.bytes, field("retry_ms"), x.retry_ms, field("sustained"), x.sustained);
}

/// One ban in force, as the security manager tells its subscribers (the peer manager keeps a
/// copy to check every connection without asking).
struct ban_view {
  std::array<std::uint8_t, 16> base{}; ///< the address or subnet (host bits zero)
  std::uint8_t prefix_len = 128;       ///< bits of the 16-byte form (IPv4 a.b.c.0/24: 120)
  std::int64_t seconds_left = -1;      ///< -1: until the operator lifts it
  /// Not a ban: the address is discouraged for seconds_left (never dialled; inbound only into a
  /// free slot; evicted first), until its score decays below the discourage rung.
  bool discouraged = false;
  friend bool operator==(const ban_view&, const ban_view&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ban_view& x) {
  return f(caf::meta::type_name("ban_view"), field("base"), x.base, field("prefix_len"),
           x.prefix_len, field("seconds_left"), x.seconds_left, field("discouraged"),
           x.discouraged);
}

} // namespace qtc
