// Why a secure channel (Noise or TLS) ended. Each reason is distinct so that the peer manager can
// score it: a forged or replayed frame is an attack, a peer that does not speak Noise is not.
#pragma once

#include <cstdint>
#include <string>

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
};

std::string to_string(transport_error x);

} // namespace qtc
