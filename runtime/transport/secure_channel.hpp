// A secure channel over an ordered byte stream, as the peer session sees it: whatever carries the
// bytes (a TCP socket in production, an in-memory link in the simulator) feeds them in, and the
// channel says what to send back and which application bytes arrived. No sockets, no clocks, no
// threads: randomness comes from the RNG the owner passes in, so a seeded RNG makes it
// deterministic.
//
// Both implementations (Noise XX in noise_channel, TLS 1.3 in tls_channel) carry the P2P byte
// stream (messages/framing) unchanged once established: a P2P message may span several transport
// frames and a transport frame may hold several P2P messages.
#pragma once

#include "messages/primitives/byte_io.hpp"
#include "messages/transport_error.hpp"
#include "runtime/transport/node_identity.hpp"

#include <optional>
#include <span>
#include <string_view>

namespace qtc {

/// Which side of the connection this channel is: the initiator opened it.
enum class channel_role : std::uint8_t { initiator, responder };

class secure_channel {
public:
  virtual ~secure_channel() = default;

  /// "noise" or "tls", for logs and status.
  virtual std::string_view kind() const = 0;

  /// Appends the first bytes to send (the initiator's first handshake message; nothing for a
  /// responder). Call once, before anything else.
  virtual transport_error start(bytes& out) = 0;

  /// Feeds bytes received from the peer, in any pieces. Appends to `out` what must be sent back
  /// (handshake messages) and to `plain` the application bytes that arrived. After an error
  /// the channel is closed: every later call returns transport_error::closed.
  virtual transport_error receive(std::span<const std::uint8_t> in, bytes& out, bytes& plain) = 0;

  /// Encrypts application bytes (any length: split into as many frames as needed) into `out`.
  virtual transport_error send(std::span<const std::uint8_t> plain, bytes& out) = 0;

  /// The peer closed its side: an error (truncated) if it did so inside a frame or before the
  /// handshake completed, none otherwise.
  virtual transport_error end_of_stream() = 0;

  /// True once the handshake completed and application bytes may flow both ways.
  virtual bool established() const = 0;

  /// The peer's authenticated static key, once the handshake revealed it.
  virtual std::optional<static_public_key> remote_static() const = 0;

  /// The reason the channel closed, or none while it is usable.
  virtual transport_error failure() const = 0;

  /// True once the peer ended the channel cleanly inside the protocol (TLS close_notify; our
  /// answer, if any, was appended to `out` by receive). Not a failure: the session ends as
  /// `peer-closed`, like a TCP hang-up between frames. Noise has no such message.
  virtual bool peer_closed() const = 0;

  /// 32 bytes naming this session and no other, once established (QuantumProof signs it): the
  /// Noise handshake hash, or for TLS the exporter value of label "EXPORTER-qtc-quantumproof"
  /// (RFC 8446 7.5, empty context). Empty before.
  virtual bytes session_binding() const = 0;

  /// Whether the established session's keys rest on a post-quantum key exchange too: the
  /// hybrid Noise handshake, or TLS with X25519MLKEM768. False before.
  virtual bool post_quantum() const = 0;

  /// Gives back receive buffers that hold nothing but grew past `keep` bytes (the session calls
  /// it once a second, so an idle connection does not keep the capacity of its largest message).
  virtual void release_spare_capacity(std::size_t keep) = 0;
};

} // namespace qtc
