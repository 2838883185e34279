// Noise hash functions, HMAC/HKDF over them, and the SymmetricState (Noise revision 34, sections
// 4.3 and 5.2): the chaining key ck, the handshake hash h, and the CipherState they key.
#pragma once

#include "runtime/transport/noise_cipher_state.hpp"

#include <string_view>
#include <vector>

namespace qtc::noise {

enum class hash_kind : std::uint8_t { blake2s, sha256, blake2b, sha512 };

/// Parses the hash part of a protocol name ("BLAKE2s", "SHA256", "BLAKE2b", "SHA512").
std::optional<hash_kind> parse_hash(std::string_view name);

/// HASHLEN: 32 for BLAKE2s and SHA256, 64 for BLAKE2b and SHA512.
std::size_t hash_length(hash_kind kind);

/// HASH(data) as the specification defines it.
bytes hash(hash_kind kind, std::span<const std::uint8_t> data);

/// HMAC-HASH (RFC 2104 with the hash's BLOCKLEN).
bytes hmac(hash_kind kind, std::span<const std::uint8_t> key, std::span<const std::uint8_t> data);

/// HKDF(chaining_key, input_key_material, num_outputs) of section 4.3: two or three outputs of
/// HASHLEN bytes each.
std::vector<bytes> hkdf(hash_kind kind, std::span<const std::uint8_t> chaining_key,
                        std::span<const std::uint8_t> input_key_material, int num_outputs);

class symmetric_state {
public:
  symmetric_state(cipher_kind cipher, hash_kind hash) : hash_(hash), cipher_(cipher) {}

  /// h = the protocol name padded to HASHLEN, or HASH(name) when it is longer; ck = h.
  void initialize_symmetric(std::string_view protocol_name);
  void mix_key(std::span<const std::uint8_t> input_key_material);
  void mix_hash(std::span<const std::uint8_t> data);
  void mix_key_and_hash(std::span<const std::uint8_t> input_key_material);
  const bytes& handshake_hash() const {
    return h_;
  }
  bool has_key() const {
    return cipher_.has_key();
  }
  cipher_result encrypt_and_hash(std::span<const std::uint8_t> plaintext, bytes& out);
  cipher_result decrypt_and_hash(std::span<const std::uint8_t> ciphertext, bytes& out);

  /// The two transport CipherStates: the first for initiator-to-responder traffic.
  std::pair<cipher_state, cipher_state> split();

  hash_kind hash_function() const {
    return hash_;
  }

private:
  hash_kind hash_;
  cipher_state cipher_;
  bytes ck_;
  bytes h_;
};

} // namespace qtc::noise
