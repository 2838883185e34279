// A node's long-term identity: one secret 32-byte seed kept in the data directory, from which
// both transports derive their keys so that one pin covers both:
//   - the Noise static key is X25519 with scalar clamp(SHA-512(seed)[0..32)), exactly the key
//     libsodium's crypto_sign_ed25519_sk_to_curve25519 derives;
//   - the TLS certificate key is Ed25519 with that seed, whose public key maps to the X25519
//     public key by the Edwards-to-Montgomery map u = (1 + y) / (1 - y) mod 2^255 - 19.
// So a TLS certificate's Ed25519 key names the same static key a Noise handshake reveals, and a
// peer pinned as `<static key hex>@host:port` (runtime/chain/chain_spec's network_address_entry) is
// verified the same way over either transport.
//
// Beside it, a second 32-byte secret in its own file (`node_pq.key`, same rules) is the FIPS 204
// seed of the node's ML-DSA-65 key: the post-quantum identity that signs each session's
// QuantumProof (runtime/transport/quantum_proof). ML-DSA-65 because it is NIST category 3, the
// level of the ML-KEM-768 the hybrid handshake uses: the weakest link sets the level.
// Node id = SHA-256(static public key || ML-DSA-65 public key): pins name both keys.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace Botan {
class Private_Key;
class RandomNumberGenerator;
} // namespace Botan

namespace qtc {

struct ml_dsa_signer_cache;

/// An X25519 public key: the Noise static key and the value peers pin.
using static_public_key = std::array<std::uint8_t, 32>;

/// SHA-256(static key || ML-DSA-65 public key): how logs, status and pins name a node.
using node_id = std::array<std::uint8_t, 32>;

node_id node_id_of(const static_public_key& key, std::span<const std::uint8_t> pq_public);

/// ML-DSA-65 sizes (FIPS 204, table 2).
inline constexpr std::size_t ml_dsa_public_key_size = 1952;
inline constexpr std::size_t ml_dsa_signature_size = 3309;

/// The file of the ML-DSA seed, beside the node key.
inline constexpr std::string_view pq_key_file = "node_pq.key";

/// Whether `signature` is a valid ML-DSA-65 signature (pure, empty context) of `message` by
/// `public_key`; false for keys or signatures of the wrong size or encoding.
bool verify_ml_dsa(std::span<const std::uint8_t> public_key, std::span<const std::uint8_t> message,
                   std::span<const std::uint8_t> signature);

/// The X25519 public key of an Ed25519 public key (32 bytes, RFC 8032 encoding); nothing when
/// the bytes are not a valid encoding or map to no usable Montgomery point (y = 1).
std::optional<static_public_key> x25519_from_ed25519(std::span<const std::uint8_t> ed25519_public);

class node_identity {
public:
  /// Derives an identity from one 32-byte seed, the ML-DSA seed derived from it (tests and the
  /// simulator use fixed seeds).
  static node_identity from_seed(std::span<const std::uint8_t, 32> seed);

  /// From the node key's seed and the ML-DSA seed.
  static node_identity from_seeds(std::span<const std::uint8_t, 32> seed,
                                  std::span<const std::uint8_t, 32> pq_seed);

  /// Loads the identity in `file` and in pq_key_file beside it, creating each from `rng` (mode
  /// 0600) when it does not exist. Refuses, with `error` naming the file and the problem, a file
  /// readable or writable by group or others, one of the wrong size, or one that cannot be read
  /// or created.
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
    return node_id_of(static_public_, pq_public_);
  }

  /// The ML-DSA-65 public key (ml_dsa_public_key_size bytes).
  const std::vector<std::uint8_t>& pq_public() const {
    return pq_public_;
  }

  /// An ML-DSA-65 signature of `message` (deterministic, empty context). Safe to call from
  /// several threads at once; copies of an identity share one ready signer.
  std::vector<std::uint8_t> sign(std::span<const std::uint8_t> message) const;

private:
  std::array<std::uint8_t, 32> seed_{};
  std::array<std::uint8_t, 32> static_private_{};
  static_public_key static_public_{};
  std::array<std::uint8_t, 32> tls_public_{};
  std::unique_ptr<Botan::Private_Key> pq_private_key() const;

  std::array<std::uint8_t, 32> pq_seed_{};
  std::vector<std::uint8_t> pq_public_;
  std::shared_ptr<ml_dsa_signer_cache> signer_;
};

} // namespace qtc
