// Why a wire decoder refused its input. Each reason is distinct so that the peer-session layer can
// turn it into a misbehaviour score (a bad checksum is not the same offence as an over-long count).
#pragma once

#include <cstdint>
#include <string>

namespace qtc {

enum class wire_error : std::uint8_t {
  none = 0,
  truncated,          ///< the input ended inside a value
  trailing_bytes,     ///< a payload had bytes left after its last field
  bad_checksum,       ///< the frame's checksum does not match its payload
  wrong_magic,        ///< the frame does not start with this network's magic
  payload_too_large,  ///< the frame announces more than the network's max_message_size
  count_too_large,    ///< a count or length is above the protocol's bound for that field
  non_canonical_size, ///< a CompactSize was not encoded in its shortest form
  bad_command,        ///< the command field is not NUL-padded printable ASCII
  invalid_value,      ///< a field holds a value the protocol forbids
};

std::string to_string(wire_error x);

} // namespace qtc
