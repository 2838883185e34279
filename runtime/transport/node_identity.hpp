// A node's long-term identity: one secret 32-byte seed kept in the data directory, from which
// both transports derive their keys so that one pin covers both:
//   - the Noise static key is X25519 with scalar clamp(SHA-512(seed)[0..32)), exactly the key
//     libsodium's crypto_sign_ed25519_sk_to_curve25519 derives;
//   - the TLS certificate key is Ed25519 with that seed, whose public key maps to the X25519
//     public key by the Edwards-to-Montgomery map u = (1 + y) / (1 - y) mod 2^255 - 19.
// So a TLS certificate's Ed25519 key names the same static key a Noise handshake reveals, and a
// peer pinned as `<static key hex>@host:port` (runtime/chain/chain_spec's network_address_entry) is
// verified the same way over either transport.
// Node id = SHA-256(static public key).
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>

namespace Botan {
class Private_Key;
class RandomNumberGenerator;
} // namespace Botan

namespace qtc {

/// An X25519 public key: the Noise static key and the value peers pin.
using static_public_key = std::array<std::uint8_t, 32>;

/// SHA-256 of a static public key: how logs, status and the address manager name a peer.
using node_id = std::array<std::uint8_t, 32>;

node_id node_id_of(const static_public_key& key);

/// The X25519 public key of an Ed25519 public key (32 bytes, RFC 8032 encoding); nothing when
/// the bytes are not a valid encoding or map to no usable Montgomery point (y = 1).
std::optional<static_public_key> x25519_from_ed25519(std::span<const std::uint8_t> ed25519_public);

class node_identity {
public:
  /// Derives an identity from a 32-byte seed (tests and the simulator use fixed seeds).
  static node_identity from_seed(std::span<const std::uint8_t, 32> seed);

  /// Loads the identity in `file`, creating it from `rng` (mode 0600) when it does not exist.
  /// Refuses, with `error` naming the file and the problem, a file readable or writable by group
  /// or others, one of the wrong size, or one that cannot be read or created.
  static std::optional<node_identity> load_or_create(const std::filesystem::path& file,
                                                     Botan::RandomNumberGenerator& rng,
                                                     std::string& error);

  /// The X25519 public key (Noise static key).
  const static_public_key& static_public() const {
    return static_public_;
  }

  /// The X25519 private scalar, already clamped (32 bytes).
  std::span<const std::uint8_t> static_private() const {
    return static_private_;
  }

  /// The Ed25519 public key of the TLS certificate (32 bytes).
  const std::array<std::uint8_t, 32>& tls_public() const {
    return tls_public_;
  }

  /// A fresh Botan Ed25519 private key object for the TLS certificate.
  std::unique_ptr<Botan::Private_Key> tls_private_key() const;

  node_id id() const {
    return node_id_of(static_public_);
  }

private:
  std::array<std::uint8_t, 32> seed_{};
  std::array<std::uint8_t, 32> static_private_{};
  static_public_key static_public_{};
  std::array<std::uint8_t, 32> tls_public_{};
};

} // namespace qtc
