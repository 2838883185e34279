// The TLS 1.3 secure channel: the fallback transport for networks that let TLS through but not
// Noise. Botan's TLS client/server run over byte buffers only (no sockets, clocks or threads);
// peers are authenticated by pinning, not by a PKI:
//   - each side presents two certificates: a TLS certificate for a P-256 key made for this
//     channel, signed by an identity certificate, the node's Ed25519 identity key self-signed.
//     That key maps (x25519_from_ed25519) to the same static key a Noise handshake reveals, so
//     one pin covers both transports. (Two, because Botan's TLS cannot sign with Ed25519.)
//   - ALPN "qtc1-<magic hex>" binds the connection to one network;
//   - TLS 1.3 only, AEAD only, key exchange X25519/ML-KEM-768 (hybrid) and/or X25519 by policy.
// The byte-level details are in docs/protocol.md ("TLS 1.3 fallback").
#pragma once

#include "runtime/transport/secure_channel.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

namespace Botan {
class RandomNumberGenerator;
} // namespace Botan

namespace qtc {

struct tls_options {
  /// The time used for the certificates' validity and by the TLS code; the system clock when
  /// unset. Tests fix it so that a seeded RNG reproduces every byte.
  std::optional<std::chrono::system_clock::time_point> now;
  /// How long our certificates claim to be valid. Peers pin the key and ignore validity, but
  /// X.509 requires dates, and stock TLS tools print them.
  std::chrono::seconds certificate_lifetime = std::chrono::hours{24};
  /// Key exchange groups: `required` offers and accepts only X25519MLKEM768, `preferred` the
  /// hybrid first then X25519, `off` X25519 only.
  pq_policy pq = pq_policy::preferred;
};

/// The one ALPN protocol name a network accepts: "qtc1-" and the 4 magic bytes in lowercase hex,
/// in wire order ("qtc1-5154434d").
std::string tls_alpn_protocol(const std::array<std::uint8_t, 4>& network_magic);

/// Whether a connection's first bytes are a TLS ClientHello record (0x16 0x03 0x01..0x03) rather
/// than a Noise first message. With fewer than 3 bytes: whether they may still begin one (the
/// sniffing responder then waits for the third byte before it decides).
bool looks_like_tls_client_hello(std::span<const std::uint8_t> first_bytes);

class tls_channel final : public secure_channel {
public:
  /// `network_magic` is the P2P message start (messages/framing's network_magic). `rng` must
  /// outlive the channel: every random byte (hello randoms, key shares, the TLS key,
  /// certificate serials, signatures) comes from it. `pinned_peer`, when given, is the static key
  /// the peer must prove.
  tls_channel(channel_role role, const node_identity& self,
              std::array<std::uint8_t, 4> network_magic,
              std::optional<static_public_key> pinned_peer, Botan::RandomNumberGenerator& rng,
              tls_options opts = {});
  ~tls_channel() override;

  tls_channel(const tls_channel&) = delete;
  tls_channel& operator=(const tls_channel&) = delete;

  std::string_view kind() const override {
    return "tls";
  }
  transport_error start(bytes& out) override;
  transport_error receive(std::span<const std::uint8_t> in, bytes& out, bytes& plain) override;
  transport_error send(std::span<const std::uint8_t> plain, bytes& out) override;
  transport_error end_of_stream() override;
  bool established() const override;
  std::optional<static_public_key> remote_static() const override;
  transport_error failure() const override;

  /// Appends a close_notify alert: we send nothing more (the peer may still send until its own
  /// close_notify). Not an error; later send() calls return closed.
  transport_error close(bytes& out);

  /// True once the peer sent close_notify: a clean end (failure() stays none, established()
  /// turns false) after which received bytes are ignored.
  bool peer_closed() const override;
  bytes session_binding() const override;
  bool post_quantum() const override;
  /// Nothing: Botan's record layer owns the TLS receive buffers and has no call to shrink them.
  void release_spare_capacity(std::size_t) override {}

  /// The key exchange group once established, in Botan's naming: "x25519/ML-KEM-768" (the
  /// hybrid, codepoint 0x11EC) or "x25519"; empty before.
  std::string negotiated_group() const;

  /// The cipher suite once established, IANA name (e.g. "TLS_CHACHA20_POLY1305_SHA256").
  std::string negotiated_cipher() const;

  /// Why the channel failed, in words (the TLS exception or alert), for logs; empty if it did not.
  std::string failure_detail() const;

private:
  class impl;
  std::unique_ptr<impl> impl_;
};

} // namespace qtc
