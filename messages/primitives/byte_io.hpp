// Bitcoin's serialization primitives: little-endian integers, CompactSize, var strings and
// 32-byte hashes, written to a growing buffer and read from a bounded span.
//
// The reader never reads past its span and never allocates more than the caller's bound: every
// count and length is checked against both the bytes left and a per-field maximum *before*
// anything is reserved. The first error sticks; later reads return zeros and do nothing.
#pragma once

#include "messages/primitives/wire_error.hpp"

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace qtc {

using bytes = std::vector<std::uint8_t>;

/// Network byte order (big-endian) fields at fixed offsets, for the UDP protocols the NAT
/// mapper speaks (STUN, PCP, NAT-PMP). The caller has checked the offset against the size.
inline std::uint16_t load_be16(std::span<const std::uint8_t> d, std::size_t at) {
  return static_cast<std::uint16_t>(d[at] << 8 | d[at + 1]);
}

inline std::uint32_t load_be32(std::span<const std::uint8_t> d, std::size_t at) {
  return std::uint32_t{load_be16(d, at)} << 16 | load_be16(d, at + 2);
}

inline void append_be16(bytes& out, std::uint16_t x) {
  out.push_back(static_cast<std::uint8_t>(x >> 8));
  out.push_back(static_cast<std::uint8_t>(x));
}

inline void append_be32(bytes& out, std::uint32_t x) {
  append_be16(out, static_cast<std::uint16_t>(x >> 16));
  append_be16(out, static_cast<std::uint16_t>(x));
}

class byte_writer {
public:
  explicit byte_writer(bytes& out) : out_(out) {}

  void u8(std::uint8_t x) {
    out_.push_back(x);
  }
  void u16le(std::uint16_t x) {
    le(x, 2);
  }
  void u16be(std::uint16_t x) {
    out_.push_back(static_cast<std::uint8_t>(x >> 8));
    out_.push_back(static_cast<std::uint8_t>(x));
  }
  void u32le(std::uint32_t x) {
    le(x, 4);
  }
  void u64le(std::uint64_t x) {
    le(x, 8);
  }
  void i32le(std::int32_t x) {
    le(static_cast<std::uint32_t>(x), 4);
  }
  void i64le(std::int64_t x) {
    le(static_cast<std::uint64_t>(x), 8);
  }
  /// CompactSize: 1, 3, 5 or 9 bytes, always the shortest form.
  void compact_size(std::uint64_t x);
  void raw(std::span<const std::uint8_t> data) {
    out_.insert(out_.end(), data.begin(), data.end());
  }
  template <std::size_t N>
  void fixed(const std::array<std::uint8_t, N>& data) {
    out_.insert(out_.end(), data.begin(), data.end());
  }
  /// CompactSize length, then the bytes.
  void var_bytes(std::span<const std::uint8_t> data) {
    compact_size(data.size());
    raw(data);
  }
  void var_str(const std::string& s) {
    compact_size(s.size());
    out_.insert(out_.end(), s.begin(), s.end());
  }

private:
  void le(std::uint64_t x, int n) {
    for (int i = 0; i < n; ++i)
      out_.push_back(static_cast<std::uint8_t>(x >> (8 * i)));
  }
  bytes& out_;
};

class byte_reader {
public:
  explicit byte_reader(std::span<const std::uint8_t> in) : in_(in) {}

  std::uint8_t u8();
  std::uint16_t u16le();
  std::uint16_t u16be();
  std::uint32_t u32le();
  std::uint64_t u64le();
  std::int32_t i32le() {
    return static_cast<std::int32_t>(u32le());
  }
  std::int64_t i64le() {
    return static_cast<std::int64_t>(u64le());
  }
  /// A canonical CompactSize no greater than `max` (else count_too_large).
  std::uint64_t compact_size(std::uint64_t max);
  /// `n` raw bytes (a view into the input; empty on error).
  std::span<const std::uint8_t> raw(std::size_t n);
  template <std::size_t N>
  std::array<std::uint8_t, N> fixed() {
    std::array<std::uint8_t, N> out{};
    auto s = raw(N);
    if (s.size() == N)
      std::copy(s.begin(), s.end(), out.begin());
    return out;
  }
  /// CompactSize length (at most `max`), then that many bytes.
  bytes var_bytes(std::size_t max);
  std::string var_str(std::size_t max);

  /// A count of items each at least `min_item_size` bytes long: bounded by `max` and by what the
  /// remaining input could possibly hold, so a lying count cannot make the caller reserve memory.
  std::uint64_t count(std::uint64_t max, std::size_t min_item_size);

  /// Marks the input invalid (first error wins).
  void fail(wire_error e) {
    if (error_ == wire_error::none)
      error_ = e;
  }
  /// After the last field: anything left is trailing_bytes.
  void expect_end() {
    if (ok() && pos_ != in_.size())
      fail(wire_error::trailing_bytes);
  }

  bool ok() const {
    return error_ == wire_error::none;
  }
  wire_error error() const {
    return error_;
  }
  std::size_t remaining() const {
    return ok() ? in_.size() - pos_ : 0;
  }
  std::size_t position() const {
    return pos_;
  }

private:
  bool need(std::size_t n) {
    if (!ok())
      return false;
    if (in_.size() - pos_ < n) {
      fail(wire_error::truncated);
      return false;
    }
    return true;
  }
  std::uint64_t le(int n);

  std::span<const std::uint8_t> in_;
  std::size_t pos_ = 0;
  wire_error error_ = wire_error::none;
};

} // namespace qtc
