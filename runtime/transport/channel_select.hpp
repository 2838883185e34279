// Choosing the transport of a connection.
//
// Inbound: one listening port serves both transports. The responder cannot know which one the
// peer speaks until its first bytes arrive: a TLS ClientHello record starts `16 03 01..03`
// (handshake record, legacy version), while a Noise message 1 starts with its 2-byte length,
// 0x00 0x25. sniffing_responder decides on those three bytes only (docs/protocol.md,
// "Sniffing"): it holds bytes that may still begin a TLS record until the third arrives, so the
// choice does not depend on how the stream was cut into pieces; then it becomes a TLS server or
// a Noise responder and hands it everything received.
//
// Outbound: Noise first, unless the peer is configured TLS-only (`tls:` prefix); after a Noise
// attempt that fails with not_noise (the peer answered with a TLS record, or hung up on message
// 1), the connection is retried once over TLS. tls_fallback_reason gives the reason to log.
// A node whose policy is `preferred` retries a hybrid Noise attempt that the peer refused as
// classical-only once in classical mode (classical_fallback_reason); `required` never does.
#pragma once

#include "runtime/transport/noise_channel.hpp"
#include "runtime/transport/tls_channel.hpp"

#include <memory>

namespace qtc {

/// noise_classical: Noise in classical mode only, for the retry after a hybrid attempt was refused.
enum class transport_kind : std::uint8_t { noise, tls, noise_classical };

std::string to_string(transport_kind x);

/// What a node needs to build either transport for one connection.
struct channel_context {
  const node_identity* identity = nullptr;
  noise::keypair noise_static; ///< the identity's X25519 key pair, built once per node
  std::array<std::uint8_t, 4> magic{};
  Botan::RandomNumberGenerator* rng = nullptr;
  noise_handshake_payload noise_payload;
  tls_options tls;
  pq_policy pq = pq_policy::preferred; ///< the node's post-quantum policy, for both transports
};

/// A channel of the given kind for an outbound connection.
std::unique_ptr<secure_channel> make_initiator(transport_kind kind, const channel_context& ctx,
                                               std::optional<static_public_key> pinned);

/// The transport an outbound connection tries first.
transport_kind first_transport(bool peer_tls_only);

/// After an outbound attempt over `tried` failed with `error`: why to retry over TLS (for the
/// log), or nothing when the failure is not a sign that the peer lacks Noise.
std::optional<std::string> tls_fallback_reason(transport_kind tried, transport_error error);

/// After an outbound Noise attempt over `tried` failed with `error`: why to retry it in classical
/// mode (for the log), or nothing (the policy is not `preferred`, or the peer did not refuse the
/// hybrid handshake).
std::optional<std::string> classical_fallback_reason(pq_policy policy, transport_kind tried,
                                                     transport_error error);

class sniffing_responder final : public secure_channel {
public:
  explicit sniffing_responder(channel_context ctx);

  /// The bytes that decide the transport: `16 03 01..03` is TLS, anything else Noise.
  static constexpr std::size_t tls_sniff_size = 3;

  /// "noise" or "tls" once the first bytes decided, "undecided" before.
  std::string_view kind() const override;
  transport_error start(bytes& out) override;
  transport_error receive(std::span<const std::uint8_t> in, bytes& out, bytes& plain) override;
  transport_error send(std::span<const std::uint8_t> plain, bytes& out) override;
  transport_error end_of_stream() override;
  bool established() const override;
  std::optional<static_public_key> remote_static() const override;
  transport_error failure() const override;
  bool peer_closed() const override;
  bytes session_binding() const override;
  bool post_quantum() const override;
  void release_spare_capacity(std::size_t keep) override;

  /// The channel chosen, once the first bytes decided.
  secure_channel* chosen() const {
    return inner_.get();
  }

private:
  channel_context ctx_;
  std::unique_ptr<secure_channel> inner_;
  bytes head_; ///< received before the transport was decided (at most tls_sniff_size - 1)
  transport_error failure_ = transport_error::none;
};

} // namespace qtc
