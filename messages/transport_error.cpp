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
  }
  return "transport_error(" + std::to_string(static_cast<int>(x)) + ")";
}

} // namespace qtc
