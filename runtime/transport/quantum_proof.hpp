// QuantumProof: post-quantum peer authentication on top of either transport. Right after the
// secure channel is established each side sends one `quantumproof` message proving it holds the
// ML-DSA-65 key of its node id, by signing this session's binding (the Noise handshake hash; for
// TLS, a keying-material exporter value) with the network magic, its role and its static key.
// A proof is worthless in any other session (the binding differs), on another network (the
// magic), reflected back at its signer (the role) or for another transport identity (the static
// key). docs/protocol.md ("QuantumProof") has the bytes.
#pragma once

#include "messages/p2p.hpp"
#include "runtime/transport/node_identity.hpp"
#include "runtime/transport/secure_channel.hpp"

#include <chrono>
#include <optional>
#include <string>

namespace qtc {

/// proof_type of an ML-DSA-65 proof (the only one).
inline constexpr std::uint8_t quantumproof_ml_dsa_65 = 1;

/// The domain separation label at the start of every signed message.
inline constexpr std::string_view quantumproof_label = "qtc-quantumproof/1";

/// How long after the channel is established the peer's proof may take (it is its first message).
inline constexpr std::chrono::seconds default_quantumproof_timeout{10};

/// What the signer signs: label || magic (4) || signer role (0 initiator, 1 responder) ||
/// binding (32) || the signer's static key (32).
bytes quantumproof_signed_message(const std::array<std::uint8_t, 4>& magic, channel_role signer,
                                  std::span<const std::uint8_t> binding,
                                  const static_public_key& signer_static);

/// Our proof for a session in which we play `role`.
quantumproof_message make_quantumproof(const node_identity& self,
                                       const std::array<std::uint8_t, 4>& magic, channel_role role,
                                       std::span<const std::uint8_t> binding);

enum class quantumproof_result : std::uint8_t {
  verified,
  malformed,     ///< unknown proof type, or a key or signature of the wrong size
  other_session, ///< it binds another session (replayed from elsewhere)
  bad_signature, ///< the signature does not verify for that key and this session
  pin_mismatch,  ///< it verifies, but the node id is not the one pinned for this peer
};

std::string to_string(quantumproof_result x);

struct quantumproof_verdict {
  quantumproof_result result = quantumproof_result::malformed;
  node_id peer_id{}; ///< SHA-256(static || ML-DSA key), once verified
};

/// Checks the proof of a peer that plays `peer_role`, whose transport revealed `peer_static`, in
/// the session named by `binding`; `pinned`, when set, is the node id the peer must have.
quantumproof_verdict
verify_quantumproof(const quantumproof_message& proof, const std::array<std::uint8_t, 4>& magic,
                    channel_role peer_role, std::span<const std::uint8_t> binding,
                    const static_public_key& peer_static, const std::optional<node_id>& pinned);

} // namespace qtc
