// The node's Noise transport: Noise_XX_25519_ChaChaPoly_BLAKE2s over a byte stream, as a
// secure_channel. docs/protocol.md ("Secure transport") specifies every byte; in short:
//   - each Noise message travels as a 2-byte big-endian length and the message (<= 65535 bytes);
//   - prologue = "qtc-p2p-noise/1" || the network magic, so networks cannot complete handshakes
//     with each other; message 1 also carries the magic in clear so the responder can name the
//     problem (wrong_network) instead of failing later with a generic authentication error;
//   - messages 2 and 3 carry each side's handshake_payload: transport version, feature flags and
//     the rekey interval of its sending direction, which the receiving side mirrors;
//   - after the handshake, the P2P byte stream is cut into transport messages of at most 65519
//     plaintext bytes; each direction rekeys (Noise Rekey()) after the announced number of
//     messages or bytes, whichever comes first.
#pragma once

#include "runtime/transport/noise_handshake_state.hpp"
#include "runtime/transport/secure_channel.hpp"

namespace Botan {
class RandomNumberGenerator;
} // namespace Botan

namespace qtc {

inline constexpr std::string_view noise_protocol_name = "Noise_XX_25519_ChaChaPoly_BLAKE2s";
inline constexpr std::string_view noise_prologue_label = "qtc-p2p-noise/1";
inline constexpr std::uint8_t noise_transport_version = 1;
inline constexpr std::size_t max_noise_message = 65535;
inline constexpr std::size_t max_noise_plaintext = max_noise_message - noise::tag_size;

/// What each side tells the other in handshake messages 2 (responder) and 3 (initiator).
struct noise_handshake_payload {
  std::uint8_t version = noise_transport_version;
  std::uint64_t features = 0;                   ///< feature bits; unknown bits are ignored
  std::uint32_t rekey_after_messages = 10'000;  ///< the sender rekeys after this many messages...
  std::uint64_t rekey_after_bytes = 1ull << 30; ///< ...or this many ciphertext bytes
  friend bool operator==(const noise_handshake_payload&, const noise_handshake_payload&) = default;
};

/// Feature bits of noise_handshake_payload::features.
namespace noise_feature {
/// The post-quantum layer (a later issue) runs inside this channel.
inline constexpr std::uint64_t post_quantum = 1u << 0;
} // namespace noise_feature

inline constexpr std::size_t noise_handshake_payload_size = 21;

bytes encode(const noise_handshake_payload& p);

/// Nothing for fewer than 21 bytes, more than 1024, or a rekey interval of zero. Bytes after the
/// 21 known ones are reserved for later versions and ignored.
std::optional<noise_handshake_payload>
decode_noise_handshake_payload(std::span<const std::uint8_t> b);

class noise_channel final : public secure_channel {
public:
  /// `static_key` is the node's identity (its Noise static key pair); `pinned`, when given, is
  /// the static key the peer must reveal; `local` is what this side announces.
  noise_channel(channel_role role, noise::keypair static_key, std::array<std::uint8_t, 4> magic,
                std::optional<static_public_key> pinned, Botan::RandomNumberGenerator& rng,
                noise_handshake_payload local = {});

  std::string_view kind() const override {
    return "noise";
  }
  transport_error start(bytes& out) override;
  transport_error receive(std::span<const std::uint8_t> in, bytes& out, bytes& plain) override;
  transport_error send(std::span<const std::uint8_t> plain, bytes& out) override;
  transport_error end_of_stream() override;
  bool established() const override {
    return established_;
  }
  std::optional<static_public_key> remote_static() const override;
  transport_error failure() const override {
    return failure_;
  }
  bool peer_closed() const override {
    return false; // Noise ends with the TCP stream only
  }

  /// The peer's handshake payload, once received.
  const std::optional<noise_handshake_payload>& remote_payload() const {
    return remote_;
  }
  /// The Noise handshake hash: a unique name of this session (for channel binding).
  const bytes& handshake_hash() const {
    return handshake_.handshake_hash();
  }
  /// How often each direction has rekeyed (for tests and status).
  std::uint64_t send_rekeys() const {
    return send_.rekeys;
  }
  std::uint64_t receive_rekeys() const {
    return receive_.rekeys;
  }

private:
  struct direction {
    noise::cipher_state cipher;
    std::uint32_t after_messages = 0;
    std::uint64_t after_bytes = 0;
    std::uint32_t messages = 0;
    std::uint64_t bytes_since = 0;
    std::uint64_t rekeys = 0;
    void count(std::size_t ciphertext_size);
  };

  transport_error fail(transport_error e);
  transport_error on_handshake_message(std::span<const std::uint8_t> msg, bytes& out);
  void write_frame(std::span<const std::uint8_t> message, bytes& out) const;
  void finish_handshake();

  channel_role role_;
  std::array<std::uint8_t, 4> magic_;
  std::optional<static_public_key> pinned_;
  noise_handshake_payload local_;
  std::optional<noise_handshake_payload> remote_;
  noise::handshake_state handshake_;
  direction send_;
  direction receive_;
  bytes rx_; ///< received bytes not yet forming a whole frame
  bool received_anything_ = false;
  bool started_ = false;
  bool established_ = false;
  transport_error failure_ = transport_error::none;
};

} // namespace qtc
