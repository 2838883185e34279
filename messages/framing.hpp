// Bitcoin's v1 message framing with this network's magic:
//
//   offset  size  field
//   0       4     magic (chain spec network_protocol.magic_bytes, "QTCM")
//   4       12    command: printable ASCII, NUL-padded
//   16      4     payload length, little-endian (≤ the chain spec's max_message_size)
//   20      4     checksum: first 4 bytes of SHA-256(SHA-256(payload))
//   24      n     payload
//
// The decoder is incremental: bytes arrive in any pieces; it yields whole frames and never reads
// past what it has. It checks each header as soon as its 24 bytes are there, so an oversized or
// foreign frame is refused before its payload is buffered.
#pragma once

#include "messages/primitives/byte_io.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace qtc {

using network_magic = std::array<std::uint8_t, 4>;

constexpr std::size_t frame_header_size = 24;
constexpr std::size_t command_size = 12;

struct frame {
  std::string command; ///< without the NUL padding
  bytes payload;
};

/// Appends one frame to `out`. `command` must be 1..12 printable ASCII characters.
void append_frame(bytes& out, const network_magic& magic, std::string_view command,
                  std::span<const std::uint8_t> payload);

class frame_decoder {
public:
  frame_decoder(network_magic magic, std::uint32_t max_payload)
      : magic_(magic), max_payload_(max_payload) {}

  /// Takes bytes as they arrive. Ignored after an error.
  void feed(std::span<const std::uint8_t> data);

  /// The next whole frame, if one is buffered. After an error, nothing ever again.
  std::optional<frame> next();

  /// Why decoding stopped (`wire_error::none` while all is well).
  wire_error error() const {
    return error_;
  }

  /// The command of the frame whose header or checksum was refused, when its command field was
  /// valid (payload_too_large, bad_checksum); empty when there was none to read (wrong_magic,
  /// bad_command) or no error. Lets the session name the message, as for a payload error.
  const std::string& error_command() const {
    return error_command_;
  }

  /// Bytes buffered but not yet returned as frames.
  std::size_t buffered() const {
    return buffer_.size() - start_;
  }

  /// When nothing is buffered, gives back a buffer that grew past `keep` bytes: a vector keeps
  /// its capacity, so one large message (every session's 5.3 KB QuantumProof, a 4 MB block)
  /// would otherwise stay allocated for the life of an idle connection.
  void release_spare_capacity(std::size_t keep);

  /// The buffer's allocated size (what an idle connection's decoder holds).
  std::size_t capacity() const {
    return buffer_.capacity();
  }

private:
  network_magic magic_;
  std::uint32_t max_payload_;
  bytes buffer_;
  std::size_t start_ = 0;
  wire_error error_ = wire_error::none;
  std::string error_command_;
};

} // namespace qtc
