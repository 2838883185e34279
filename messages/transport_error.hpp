// Why a secure channel (Noise or TLS) ended. Each reason is distinct so that the peer manager can
// score it: a forged or replayed frame is an attack, a peer that does not speak Noise is not.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace qtc {

enum class transport_error : std::uint8_t {
  none = 0,
  authentication_failed, ///< a frame failed AEAD authentication: modified, replayed, reordered
  malformed_message,     ///< a handshake message has the wrong size or an unparsable payload
  frame_too_large,       ///< a length prefix or application write above the transport's limit
  truncated,             ///< the peer closed the stream inside a frame or the handshake
  not_noise,             ///< the peer answered the Noise first message with something else
  wrong_network,         ///< the handshake payload names another network or protocol
  pin_mismatch,          ///< the peer's static key is not the one configured for it
  nonce_exhausted,       ///< a cipher reached its last nonce (2^64 - 1); the session must end
  handshake_timeout,     ///< the handshake did not complete in time (set by the session actor)
  tls_failure,           ///< the TLS layer refused the handshake or a record (alert or error)
  not_established,       ///< application data before the handshake completed
  closed,                ///< the channel was already closed after an earlier error
  peer_not_post_quantum, ///< our policy needs the hybrid handshake; the peer speaks classical only
  peer_requires_post_quantum, ///< we speak classical only (pq = off); the peer refuses it
  downgrade_detected, ///< a classical handshake between two nodes that both speak the hybrid
};

/// The node's post-quantum policy for its transports (`--qtcnode.pq`): `required` speaks and
/// accepts only the hybrid handshakes (Noise XXhfs, TLS X25519MLKEM768), `preferred` tries the
/// hybrid first and accepts classical peers, `off` speaks classical only.
enum class pq_policy : std::uint8_t { required, preferred, off };

std::string to_string(pq_policy x);

/// "required", "preferred" or "off"; nothing for anything else.
std::optional<pq_policy> parse_pq_policy(std::string_view text);

std::string to_string(transport_error x);

/// to_string, followed for the post-quantum refusals by what happened in words (log lines and
/// close details: an operator must see at once why a peer was refused).
std::string describe(transport_error x);

} // namespace qtc
