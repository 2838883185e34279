#include "messages/primitives/byte_io.hpp"

namespace qtc {

std::string to_string(wire_error x) {
  switch (x) {
  case wire_error::none:
    return "none";
  case wire_error::truncated:
    return "truncated";
  case wire_error::trailing_bytes:
    return "trailing_bytes";
  case wire_error::bad_checksum:
    return "bad_checksum";
  case wire_error::wrong_magic:
    return "wrong_magic";
  case wire_error::payload_too_large:
    return "payload_too_large";
  case wire_error::count_too_large:
    return "count_too_large";
  case wire_error::non_canonical_size:
    return "non_canonical_size";
  case wire_error::bad_command:
    return "bad_command";
  case wire_error::invalid_value:
    return "invalid_value";
  }
  return "wire_error(" + std::to_string(static_cast<int>(x)) + ")";
}

void byte_writer::compact_size(std::uint64_t x) {
  if (x < 0xfd) {
    u8(static_cast<std::uint8_t>(x));
  } else if (x <= 0xffff) {
    u8(0xfd);
    u16le(static_cast<std::uint16_t>(x));
  } else if (x <= 0xffffffff) {
    u8(0xfe);
    u32le(static_cast<std::uint32_t>(x));
  } else {
    u8(0xff);
    u64le(x);
  }
}

std::uint64_t byte_reader::le(int n) {
  if (!need(static_cast<std::size_t>(n)))
    return 0;
  std::uint64_t x = 0;
  for (int i = 0; i < n; ++i)
    x |= static_cast<std::uint64_t>(in_[pos_ + static_cast<std::size_t>(i)]) << (8 * i);
  pos_ += static_cast<std::size_t>(n);
  return x;
}

std::uint8_t byte_reader::u8() {
  return static_cast<std::uint8_t>(le(1));
}

std::uint16_t byte_reader::u16le() {
  return static_cast<std::uint16_t>(le(2));
}

std::uint16_t byte_reader::u16be() {
  if (!need(2))
    return 0;
  auto x = static_cast<std::uint16_t>(in_[pos_] << 8 | in_[pos_ + 1]);
  pos_ += 2;
  return x;
}

std::uint32_t byte_reader::u32le() {
  return static_cast<std::uint32_t>(le(4));
}

std::uint64_t byte_reader::u64le() {
  return le(8);
}

std::uint64_t byte_reader::compact_size(std::uint64_t max) {
  auto first = u8();
  std::uint64_t x = first;
  std::uint64_t smallest = 0;
  if (first == 0xfd) {
    x = u16le();
    smallest = 0xfd;
  } else if (first == 0xfe) {
    x = u32le();
    smallest = 0x10000;
  } else if (first == 0xff) {
    x = u64le();
    smallest = 0x100000000ULL;
  }
  if (!ok())
    return 0;
  if (x < smallest) {
    fail(wire_error::non_canonical_size);
    return 0;
  }
  if (x > max) {
    fail(wire_error::count_too_large);
    return 0;
  }
  return x;
}

std::span<const std::uint8_t> byte_reader::raw(std::size_t n) {
  if (!need(n))
    return {};
  auto s = in_.subspan(pos_, n);
  pos_ += n;
  return s;
}

bytes byte_reader::var_bytes(std::size_t max) {
  auto n = compact_size(max);
  auto s = raw(static_cast<std::size_t>(n)); // checked against the input before any copy
  return bytes(s.begin(), s.end());
}

std::string byte_reader::var_str(std::size_t max) {
  auto n = compact_size(max);
  auto s = raw(static_cast<std::size_t>(n));
  return std::string(s.begin(), s.end());
}

std::uint64_t byte_reader::count(std::uint64_t max, std::size_t min_item_size) {
  auto n = compact_size(max);
  if (ok() && min_item_size > 0 && n > remaining() / min_item_size) {
    fail(wire_error::truncated); // more items announced than the bytes left could hold
    return 0;
  }
  return n;
}

} // namespace qtc
