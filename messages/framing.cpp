#include "messages/framing.hpp"

#include "messages/primitives/hash.hpp"

#include <algorithm>
#include <stdexcept>

namespace qtc {

namespace {

bool valid_command(std::span<const std::uint8_t> field, std::string& out) {
  std::size_t len = 0;
  while (len < field.size() && field[len] != 0)
    ++len;
  if (len == 0)
    return false;
  for (std::size_t i = 0; i < len; ++i)
    if (field[i] < 0x20 || field[i] > 0x7e)
      return false;
  for (std::size_t i = len; i < field.size(); ++i)
    if (field[i] != 0)
      return false; // NUL padding only, as Bitcoin Core requires
  out.assign(field.begin(), field.begin() + static_cast<std::ptrdiff_t>(len));
  return true;
}

} // namespace

void append_frame(bytes& out, const network_magic& magic, std::string_view command,
                  std::span<const std::uint8_t> payload) {
  if (command.empty() || command.size() > command_size
      || !std::all_of(command.begin(), command.end(),
                      [](char c) { return c >= 0x20 && c <= 0x7e; }))
    throw std::invalid_argument("invalid P2P command: " + std::string{command});
  byte_writer w{out};
  w.fixed(magic);
  std::array<std::uint8_t, command_size> padded{};
  std::copy(command.begin(), command.end(), padded.begin());
  w.fixed(padded);
  w.u32le(static_cast<std::uint32_t>(payload.size()));
  auto digest = sha256d(payload);
  w.raw(std::span{digest.data(), 4});
  w.raw(payload);
}

void frame_decoder::feed(std::span<const std::uint8_t> data) {
  if (error_ != wire_error::none)
    return;
  // Reclaim consumed space before growing.
  if (start_ > 0 && start_ >= buffer_.size() / 2) {
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(start_));
    start_ = 0;
  }
  buffer_.insert(buffer_.end(), data.begin(), data.end());
}

void frame_decoder::release_spare_capacity(std::size_t keep) {
  if (buffered() == 0 && buffer_.capacity() > keep) {
    bytes{}.swap(buffer_);
    start_ = 0;
  }
}

std::optional<frame> frame_decoder::next() {
  if (error_ != wire_error::none || buffered() < frame_header_size)
    return std::nullopt;
  std::span<const std::uint8_t> avail{buffer_.data() + start_, buffered()};
  byte_reader header{avail.first(frame_header_size)};
  auto magic = header.fixed<4>();
  if (magic != magic_) {
    error_ = wire_error::wrong_magic;
    return std::nullopt;
  }
  frame f;
  if (!valid_command(header.raw(command_size), f.command)) {
    error_ = wire_error::bad_command;
    return std::nullopt;
  }
  auto length = header.u32le();
  if (length > max_payload_) {
    error_ = wire_error::payload_too_large;
    error_command_ = f.command;
    return std::nullopt;
  }
  auto checksum = header.fixed<4>();
  if (avail.size() < frame_header_size + length)
    return std::nullopt; // wait for the rest of the payload
  auto payload = avail.subspan(frame_header_size, length);
  auto digest = sha256d(payload);
  if (!std::equal(checksum.begin(), checksum.end(), digest.begin())) {
    error_ = wire_error::bad_checksum;
    error_command_ = f.command;
    return std::nullopt;
  }
  f.payload.assign(payload.begin(), payload.end());
  start_ += frame_header_size + length;
  return f;
}

} // namespace qtc
