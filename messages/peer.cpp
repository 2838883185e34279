#include "messages/peer.hpp"

namespace qtc {

std::string to_string(close_reason x) {
  switch (x) {
  case close_reason::none:
    return "none";
  case close_reason::connect_failed:
    return "connect-failed";
  case close_reason::connect_timeout:
    return "connect-timeout";
  case close_reason::transport_failed:
    return "transport-failed";
  case close_reason::wire_error:
    return "wire-error";
  case close_reason::protocol_violation:
    return "protocol-violation";
  case close_reason::version_timeout:
    return "version-timeout";
  case close_reason::version_too_old:
    return "version-too-old";
  case close_reason::self_connection:
    return "self-connection";
  case close_reason::ping_timeout:
    return "ping-timeout";
  case close_reason::inactivity:
    return "inactivity";
  case close_reason::send_queue_full:
    return "send-queue-full";
  case close_reason::peer_closed:
    return "peer-closed";
  case close_reason::shutdown:
    return "shutdown";
  case close_reason::evicted:
    return "evicted";
  case close_reason::duplicate:
    return "duplicate";
  case close_reason::misbehaviour:
    return "misbehaviour";
  case close_reason::invalid_data:
    return "invalid-data";
  case close_reason::stalling:
    return "stalling";
  case close_reason::unwanted:
    return "unwanted";
  case close_reason::session_failed:
    return "session-failed";
  case close_reason::frame_timeout:
    return "frame-timeout";
  case close_reason::send_stalled:
    return "send-stalled";
  case close_reason::quantumproof_missing:
    return "quantumproof-missing";
  case close_reason::quantumproof_timeout:
    return "quantumproof-timeout";
  case close_reason::quantumproof_malformed:
    return "quantumproof-malformed";
  case close_reason::quantumproof_invalid:
    return "quantumproof-invalid";
  case close_reason::pin_mismatch:
    return "pin-mismatch";
  }
  return "unknown";
}

bool is_violation(close_reason x) {
  switch (x) {
  case close_reason::wire_error:
  case close_reason::protocol_violation:
  case close_reason::misbehaviour:
  case close_reason::invalid_data:
  case close_reason::quantumproof_missing:
  case close_reason::quantumproof_malformed:
  case close_reason::quantumproof_invalid:
    return true;
  default:
    return false;
  }
}

std::string to_string(connection_type x) {
  switch (x) {
  case connection_type::inbound:
    return "inbound";
  case connection_type::outbound_full_relay:
    return "outbound-full-relay";
  case connection_type::block_relay:
    return "block-relay";
  case connection_type::feeler:
    return "feeler";
  case connection_type::manual:
    return "manual";
  }
  return "unknown";
}

} // namespace qtc
