// Noise HandshakeState (Noise revision 34, section 5.3), driven by a handshake pattern's token
// lists rather than unrolled for one pattern: the one-way patterns N, K, X and the interactive
// patterns NN, NK, NX, XN, XK, XX, KN, KK, KX, IN, IK, IX, with the 25519 DH function, either
// cipher and any of the four hashes. PSK modifiers are not supported (parse_protocol_name says so).
//
// The "hfs" modifier (KEM-based hybrid forward secrecy, noise_hfs_spec revision 1) adds two
// tokens: "e1" (send an ML-KEM-768 encapsulation key, EncryptAndHash'ed) and "ekem1" (send the
// ciphertext encapsulated to it, EncryptAndHash'ed, then MixKey(shared secret)). Its DH section
// names the KEM after a plus sign: Noise_XXhfs_25519+MLKEM768_ChaChaPoly_BLAKE2s. Every
// interactive pattern but KK gets an hfs form (the HFS text places KKhfs's e1 against its own
// rule, so that one is left out rather than guessed).
#pragma once

#include "runtime/transport/noise_kem.hpp"
#include "runtime/transport/noise_symmetric_state.hpp"

#include <memory>
#include <string>
#include <vector>

namespace Botan {
class RandomNumberGenerator;
class X25519_PrivateKey;
} // namespace Botan

namespace qtc::noise {

enum class token : std::uint8_t { e, s, ee, es, se, ss, e1, ekem1 };

struct handshake_pattern {
  std::string name;
  std::vector<token> pre_initiator;         ///< keys the responder knows before the handshake
  std::vector<token> pre_responder;         ///< keys the initiator knows before the handshake
  std::vector<std::vector<token>> messages; ///< message i is sent by the initiator if i is even
};

/// The pattern of that name, or nothing.
const handshake_pattern* find_pattern(std::string_view name);

struct protocol {
  std::string name; ///< e.g. "Noise_XX_25519_ChaChaPoly_BLAKE2s"
  const handshake_pattern* pattern = nullptr;
  cipher_kind cipher = cipher_kind::chachapoly;
  hash_kind hash = hash_kind::blake2s;
  bool kem = false; ///< "25519+MLKEM768": the pattern carries the hfs tokens
};

/// Parses `Noise_<pattern>_<dh>_<cipher>_<hash>`; nothing, with `why` set, for anything this
/// implementation does not support.
std::optional<protocol> parse_protocol_name(std::string_view name, std::string& why);

/// An X25519 key pair. The Botan key object is kept so a static key costs no scalar
/// multiplication per handshake beyond the DH operations themselves.
struct keypair {
  std::shared_ptr<const Botan::X25519_PrivateKey> key;
  key32 public_key{};

  static keypair generate(Botan::RandomNumberGenerator& rng);
  static keypair from_private(std::span<const std::uint8_t> private_key);
};

enum class handshake_result : std::uint8_t {
  ok,
  authentication_failed, ///< an encrypted static key or payload did not authenticate
  malformed_message,     ///< too short for the pattern's tokens, or a DH gave the zero point
  wrong_turn,            ///< written or read out of turn, or after the handshake ended
  missing_key,           ///< the pattern needs a key this side was not given
};

struct handshake_config {
  protocol proto;
  bool initiator = true;
  bytes prologue;
  std::optional<keypair> s;            ///< local static key, if the pattern uses one
  std::optional<keypair> e;            ///< preset ephemeral (test vectors); generated otherwise
  std::optional<key32> rs;             ///< remote static known in advance (pre-messages)
  std::optional<key32> re;             ///< remote ephemeral known in advance (pre-messages)
  std::optional<bytes> e1_seed;        ///< preset ML-KEM key pair seed (test vectors)
  std::optional<bytes> kem_randomness; ///< preset Encaps randomness m (test vectors)
};

class handshake_state {
public:
  /// Initialize(): mixes the protocol name, the prologue and the pre-message keys.
  /// Returns missing_key through `status()` when the pattern needs a key the config lacks.
  handshake_state(handshake_config config, Botan::RandomNumberGenerator& rng);

  handshake_result status() const {
    return status_;
  }

  /// True when it is this side's turn to write.
  bool my_turn() const;

  /// True after the last message: split() may be called.
  bool finished() const {
    return next_message_ == proto_.pattern->messages.size();
  }

  /// WriteMessage: appends the next handshake message carrying `payload` to `out`.
  handshake_result write_message(std::span<const std::uint8_t> payload, bytes& out);

  /// ReadMessage: processes the peer's next message, appending its payload to `payload`.
  handshake_result read_message(std::span<const std::uint8_t> message, bytes& payload);

  /// The transport ciphers after the handshake: {initiator-to-responder, responder-to-initiator}.
  std::pair<cipher_state, cipher_state> split() {
    return symmetric_.split();
  }

  const bytes& handshake_hash() const {
    return symmetric_.handshake_hash();
  }
  const std::optional<key32>& remote_static() const {
    return rs_;
  }
  const std::optional<key32>& remote_ephemeral() const {
    return re_;
  }

private:
  handshake_result dh(const std::optional<keypair>& local, const std::optional<key32>& remote);
  /// MixKey(DH(...)) for a DH token, with the keys that token names for this side.
  handshake_result mix_dh(token t);
  handshake_result write_kem_token(token t, bytes& out);
  handshake_result read_kem_token(token t, std::span<const std::uint8_t> message, std::size_t& pos);

  protocol proto_;
  bool initiator_;
  Botan::RandomNumberGenerator& rng_;
  symmetric_state symmetric_;
  std::optional<keypair> s_;
  std::optional<keypair> e_;
  std::optional<key32> rs_;
  std::optional<key32> re_;
  std::optional<kem_keypair> e1_; ///< our ML-KEM key pair ("e1")
  bytes re1_;                     ///< the peer's ML-KEM encapsulation key
  std::optional<bytes> kem_randomness_;
  std::size_t next_message_ = 0;
  handshake_result status_ = handshake_result::ok;
};

} // namespace qtc::noise
