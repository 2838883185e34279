#include "runtime/transport/quantum_proof.hpp"

#include <algorithm>

namespace qtc {

bytes quantumproof_signed_message(const std::array<std::uint8_t, 4>& magic, channel_role signer,
                                  std::span<const std::uint8_t> binding,
                                  const static_public_key& signer_static) {
  bytes m(quantumproof_label.begin(), quantumproof_label.end());
  m.insert(m.end(), magic.begin(), magic.end());
  m.push_back(signer == channel_role::initiator ? 0 : 1);
  m.insert(m.end(), binding.begin(), binding.end());
  m.insert(m.end(), signer_static.begin(), signer_static.end());
  return m;
}

quantumproof_message make_quantumproof(const node_identity& self,
                                       const std::array<std::uint8_t, 4>& magic, channel_role role,
                                       std::span<const std::uint8_t> binding) {
  quantumproof_message p;
  p.proof_type = quantumproof_ml_dsa_65;
  p.public_key = self.pq_public();
  std::copy_n(binding.begin(), std::min(binding.size(), p.binds.size()), p.binds.begin());
  p.signature = self.sign(quantumproof_signed_message(magic, role, p.binds, self.static_public()));
  return p;
}

std::string to_string(quantumproof_result x) {
  switch (x) {
  case quantumproof_result::verified:
    return "verified";
  case quantumproof_result::malformed:
    return "malformed";
  case quantumproof_result::other_session:
    return "other-session";
  case quantumproof_result::bad_signature:
    return "bad-signature";
  case quantumproof_result::pin_mismatch:
    return "pin-mismatch";
  }
  return "quantumproof_result(" + std::to_string(static_cast<int>(x)) + ")";
}

quantumproof_verdict
verify_quantumproof(const quantumproof_message& proof, const std::array<std::uint8_t, 4>& magic,
                    channel_role peer_role, std::span<const std::uint8_t> binding,
                    const static_public_key& peer_static, const std::optional<node_id>& pinned) {
  quantumproof_verdict v;
  if (proof.proof_type != quantumproof_ml_dsa_65
      || proof.public_key.size() != ml_dsa_public_key_size
      || proof.signature.size() != ml_dsa_signature_size)
    return v;
  if (binding.size() != proof.binds.size()
      || !std::equal(binding.begin(), binding.end(), proof.binds.begin())) {
    v.result = quantumproof_result::other_session;
    return v;
  }
  auto message = quantumproof_signed_message(magic, peer_role, binding, peer_static);
  if (!verify_ml_dsa(proof.public_key, message, proof.signature)) {
    v.result = quantumproof_result::bad_signature;
    return v;
  }
  v.peer_id = node_id_of(peer_static, proof.public_key);
  v.result = pinned && *pinned != v.peer_id ? quantumproof_result::pin_mismatch
                                            : quantumproof_result::verified;
  return v;
}

} // namespace qtc
