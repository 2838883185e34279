// The KEM of the Noise HFS modifier (KEM-based hybrid forward secrecy, noise_hfs_spec revision 1):
// ML-KEM-768 (FIPS 203) from Botan. GENERATE_KEM_KEYPAIR, GENERATE_KEM_CIPHERTEXT and KEM of the
// HFS text are kem_keypair::generate, kem_encapsulate and kem_decapsulate here.
//
// Test vectors fix the randomness: a key pair from its 64-byte FIPS 203 seed (d || z), and an
// encapsulation from its 32-byte message m (fixed_randomness feeds exactly those bytes to Botan).
#pragma once

#include "messages/primitives/byte_io.hpp"

#include <botan/rng.h>

#include <memory>
#include <optional>
#include <span>

namespace Botan {
class Kyber_PrivateKey;
} // namespace Botan

namespace qtc::noise {

/// ML-KEM-768 sizes (FIPS 203, table 3): encapsulation key, ciphertext, shared secret, seed.
inline constexpr std::size_t kem_public_key_size = 1184;
inline constexpr std::size_t kem_ciphertext_size = 1088;
inline constexpr std::size_t kem_shared_secret_size = 32;
inline constexpr std::size_t kem_seed_size = 64;
inline constexpr std::size_t kem_encapsulation_randomness_size = 32;

/// An ML-KEM-768 key pair (the HFS "e1" key).
struct kem_keypair {
  std::shared_ptr<const Botan::Kyber_PrivateKey> key;
  bytes public_key; ///< the encapsulation key, kem_public_key_size bytes

  static kem_keypair generate(Botan::RandomNumberGenerator& rng);
  /// From the FIPS 203 seed d || z (kem_seed_size bytes).
  static kem_keypair from_seed(std::span<const std::uint8_t> seed);
};

struct kem_encapsulation {
  bytes ciphertext;    ///< kem_ciphertext_size bytes
  bytes shared_secret; ///< kem_shared_secret_size bytes
};

/// Encapsulates to `public_key`; nothing when it is not a valid ML-KEM-768 encapsulation key
/// (wrong size, or coefficients not reduced mod q: the FIPS 203 input check).
std::optional<kem_encapsulation> kem_encapsulate(std::span<const std::uint8_t> public_key,
                                                 Botan::RandomNumberGenerator& rng);

/// Decapsulates; nothing for a ciphertext of the wrong size. (ML-KEM rejects implicitly: a
/// tampered ciphertext gives a pseudorandom secret, and the handshake fails at the next tag.)
std::optional<bytes> kem_decapsulate(const kem_keypair& keys,
                                     std::span<const std::uint8_t> ciphertext);

/// A "random" generator that hands out preset bytes, for test vectors only: it throws when asked
/// for more than it holds, so a vector that under-specifies randomness fails loudly.
class fixed_randomness final : public Botan::RandomNumberGenerator {
public:
  explicit fixed_randomness(bytes data) : data_(std::move(data)) {}
  std::string name() const override {
    return "qtc_fixed_randomness";
  }
  bool accepts_input() const override {
    return false;
  }
  bool is_seeded() const override {
    return true;
  }
  void clear() override {}

private:
  void fill_bytes_with_input(std::span<std::uint8_t> output,
                             std::span<const std::uint8_t> input) override;
  bytes data_;
  std::size_t used_ = 0;
};

} // namespace qtc::noise
