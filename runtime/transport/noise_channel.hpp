// The node's Noise transport over a byte stream, as a secure_channel: the hybrid
// Noise_XXhfs_25519+MLKEM768_ChaChaPoly_BLAKE2s (X25519 and ML-KEM-768 both feed the keys) or the
// classical Noise_XX_25519_ChaChaPoly_BLAKE2s. docs/protocol.md ("Secure transport") specifies
// every byte; in short:
//   - each Noise message travels as a 2-byte big-endian length and the message (<= 65535 bytes);
//   - the first frame starts with a mode byte naming the handshake (0 classical, 1 hybrid), in
//     clear so the responder knows the pattern; a responder whose policy refuses that mode answers
//     a 2-byte refusal frame (0xff, the mode it speaks) and closes;
//   - prologue = "qtc-p2p-noise/2" || the network magic || the mode byte: networks cannot complete
//     handshakes with each other, and a mode byte rewritten in transit fails the handshake;
//     message 1 also carries the magic in clear so the responder can name the problem
//     (wrong_network) instead of failing later with a generic authentication error;
//   - a classical handshake in which both sides' authenticated payloads say they speak the hybrid
//     is a downgrade (someone forged a refusal) and fails with downgrade_detected;
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
inline constexpr std::string_view noise_hybrid_protocol_name =
    "Noise_XXhfs_25519+MLKEM768_ChaChaPoly_BLAKE2s";
inline constexpr std::string_view noise_prologue_label = "qtc-p2p-noise/2";
inline constexpr std::uint8_t noise_transport_version = 2;
/// First byte of a refusal frame (its second byte is the mode the refusing side speaks).
inline constexpr std::uint8_t noise_refusal_marker = 0xff;

/// Which handshake a connection runs: the mode byte of the first frame.
enum class noise_mode : std::uint8_t { classical = 0, hybrid = 1 };

/// The mode an initiator with this policy tries first.
noise_mode first_noise_mode(pq_policy policy);
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
/// The sender speaks the hybrid handshake (its policy is not `off`): seen in a classical
/// handshake from a peer whose policy is not `off` either, it reveals a downgrade.
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
  /// the static key the peer must reveal; `local` is what this side announces (its post_quantum
  /// feature bit is set from `policy`); an initiator runs `mode`, by default its policy's first.
  noise_channel(channel_role role, noise::keypair static_key, std::array<std::uint8_t, 4> magic,
                std::optional<static_public_key> pinned, Botan::RandomNumberGenerator& rng,
                noise_handshake_payload local = {}, pq_policy policy = pq_policy::preferred,
                std::optional<noise_mode> mode = std::nullopt);

  std::string_view kind() const override {
    return "noise";
  }
  transport_error start(bytes& out) override;
  transport_error receive(std::span<const std::uint8_t> in, bytes& out, bytes& plain) override;
  transport_error send(std::span<const std::uint8_t> plain, bytes& out) override;
  transport_error end_of_stream() override;
  void release_spare_capacity(std::size_t keep) override;

  /// The receive buffer's allocated size (what an idle connection's channel holds).
  std::size_t receive_capacity() const {
    return rx_.capacity();
  }
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
  bytes session_binding() const override {
    return established_ ? handshake_hash() : bytes{};
  }
  bool post_quantum() const override {
    return established_ && mode_ == noise_mode::hybrid;
  }

  /// The peer's handshake payload, once received.
  const std::optional<noise_handshake_payload>& remote_payload() const {
    return remote_;
  }
  /// The Noise handshake hash: a unique name of this session (for channel binding); empty
  /// before the handshake began.
  const bytes& handshake_hash() const;

  /// The handshake this connection runs, once known (an initiator knows it from the start).
  std::optional<noise_mode> mode() const {
    return mode_;
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
  void begin_handshake(noise_mode mode);
  transport_error check_first_reply(std::span<const std::uint8_t> rx);
  transport_error on_first_message(std::span<const std::uint8_t> frame, bytes& out);
  transport_error on_handshake_message(std::span<const std::uint8_t> msg, bytes& out);
  transport_error check_remote_payload(std::span<const std::uint8_t> payload);
  void write_frame(std::span<const std::uint8_t> message, bytes& out) const;
  void finish_handshake();

  channel_role role_;
  std::array<std::uint8_t, 4> magic_;
  std::optional<static_public_key> pinned_;
  Botan::RandomNumberGenerator& rng_;
  noise::keypair static_key_;
  pq_policy policy_;
  noise_handshake_payload local_;
  std::optional<noise_handshake_payload> remote_;
  std::optional<noise_mode> mode_;
  std::optional<noise::handshake_state> handshake_; ///< from the mode known to established
  std::optional<static_public_key> remote_static_;  ///< the handshake's, once established
  bytes handshake_hash_;                            ///< the handshake's, once established
  direction send_;
  direction receive_;
  bytes rx_; ///< received bytes not yet forming a whole frame
  bool received_anything_ = false;
  bool started_ = false;
  bool established_ = false;
  transport_error failure_ = transport_error::none;
};

} // namespace qtc
