#include "messages/transport_error.hpp"

namespace qtc {

std::string to_string(transport_error x) {
  switch (x) {
  case transport_error::none:
    return "none";
  case transport_error::authentication_failed:
    return "authentication_failed";
  case transport_error::malformed_message:
    return "malformed_message";
  case transport_error::frame_too_large:
    return "frame_too_large";
  case transport_error::truncated:
    return "truncated";
  case transport_error::not_noise:
    return "not_noise";
  case transport_error::wrong_network:
    return "wrong_network";
  case transport_error::pin_mismatch:
    return "pin_mismatch";
  case transport_error::nonce_exhausted:
    return "nonce_exhausted";
  case transport_error::handshake_timeout:
    return "handshake_timeout";
  case transport_error::tls_failure:
    return "tls_failure";
  case transport_error::not_established:
    return "not_established";
  case transport_error::closed:
    return "closed";
  case transport_error::peer_not_post_quantum:
    return "peer_not_post_quantum";
  case transport_error::peer_requires_post_quantum:
    return "peer_requires_post_quantum";
  case transport_error::downgrade_detected:
    return "downgrade_detected";
  }
  return "transport_error(" + std::to_string(static_cast<int>(x)) + ")";
}

std::string describe(transport_error x) {
  switch (x) {
  case transport_error::peer_not_post_quantum:
    return to_string(x)
           + ": refused: the peer speaks only the classical handshake (no "
             "ML-KEM), and this node's policy (--qtcnode.pq) requires the hybrid one";
  case transport_error::peer_requires_post_quantum:
    return to_string(x)
           + ": refused: the peer requires the hybrid (ML-KEM) handshake, and this "
             "node's policy is pq = off";
  case transport_error::downgrade_detected:
    return to_string(x)
           + ": a classical handshake between two nodes that both speak the hybrid "
             "one: a forged refusal on the path (man in the middle)";
  default:
    return to_string(x);
  }
}

std::string to_string(pq_policy x) {
  switch (x) {
  case pq_policy::required:
    return "required";
  case pq_policy::preferred:
    return "preferred";
  case pq_policy::off:
    return "off";
  }
  return "pq_policy(" + std::to_string(static_cast<int>(x)) + ")";
}

std::optional<pq_policy> parse_pq_policy(std::string_view text) {
  for (auto p : {pq_policy::required, pq_policy::preferred, pq_policy::off})
    if (text == to_string(p))
      return p;
  return std::nullopt;
}

} // namespace qtc
