// Noise CipherState (Noise Protocol Framework, revision 34, section 5.1): a key k, a 64-bit
// nonce n, and the AEAD that uses them. Two ciphers: ChaChaPoly (ChaCha20-Poly1305, RFC 8439;
// nonce = 4 zero bytes || n little-endian) and AESGCM (AES-256-GCM; nonce = 4 zero bytes ||
// n big-endian).
#pragma once

#include "messages/primitives/byte_io.hpp"

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

namespace Botan {
class AEAD_Mode;
} // namespace Botan

namespace qtc::noise {

using key32 = std::array<std::uint8_t, 32>;

/// Authentication tag length of both ciphers.
inline constexpr std::size_t tag_size = 16;

/// The nonce the specification reserves: encrypting or decrypting with it is refused, so a
/// cipher that reaches it is exhausted (only Rekey() may use it).
inline constexpr std::uint64_t reserved_nonce = ~std::uint64_t{0};

enum class cipher_kind : std::uint8_t { chachapoly, aesgcm };

/// Parses the cipher part of a protocol name ("ChaChaPoly", "AESGCM").
std::optional<cipher_kind> parse_cipher(std::string_view name);

enum class cipher_result : std::uint8_t {
  ok,
  authentication_failed, ///< the tag did not verify (modified, replayed, reordered or cut)
  nonce_exhausted,       ///< n reached 2^64 - 1
};

class cipher_state {
public:
  explicit cipher_state(cipher_kind kind = cipher_kind::chachapoly);
  ~cipher_state();
  cipher_state(cipher_state&&) noexcept;
  cipher_state& operator=(cipher_state&&) noexcept;

  cipher_kind kind() const {
    return kind_;
  }
  void initialize_key(const std::optional<key32>& key);
  bool has_key() const {
    return key_.has_value();
  }
  void set_nonce(std::uint64_t n) {
    n_ = n;
  }
  std::uint64_t nonce() const {
    return n_;
  }

  /// Appends ENCRYPT(k, n++, ad, plaintext) to `out` (or the plaintext itself without a key).
  cipher_result encrypt_with_ad(std::span<const std::uint8_t> ad,
                                std::span<const std::uint8_t> plaintext, bytes& out);

  /// Appends the plaintext to `out`; on failure nothing is appended and n does not advance.
  cipher_result decrypt_with_ad(std::span<const std::uint8_t> ad,
                                std::span<const std::uint8_t> ciphertext, bytes& out);

  /// k = the first 32 bytes of ENCRYPT(k, 2^64 - 1, "", 32 zero bytes); n is unchanged.
  void rekey();

private:
  void nonce_bytes(std::uint64_t n, std::array<std::uint8_t, 12>& out) const;
  Botan::AEAD_Mode& encryptor(); ///< made and keyed on first use
  Botan::AEAD_Mode& decryptor(); ///< made and keyed on first use

  cipher_kind kind_;
  std::optional<key32> key_;
  std::uint64_t n_ = 0;
  std::unique_ptr<Botan::AEAD_Mode> enc_;
  std::unique_ptr<Botan::AEAD_Mode> dec_;
};

} // namespace qtc::noise
