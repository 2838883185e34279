// A 256-bit unsigned integer for proof-of-work arithmetic: chain work (2^256 / (target + 1)),
// retargeting (target × timespan / expected), comparisons. Four 64-bit limbs, least significant
// first. Only what the chain needs; overflow wraps like unsigned arithmetic.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <string>

namespace qtc {

/// A 256-bit unsigned number, most significant byte first (big-endian), for comparisons.
using uint256_be = std::array<std::uint8_t, 32>;

class uint256 {
public:
  constexpr uint256() = default;
  constexpr explicit uint256(std::uint64_t x) : limbs_{x, 0, 0, 0} {}

  static uint256 from_big_endian(const uint256_be& bytes);
  uint256_be to_big_endian() const;
  std::string to_hex() const; ///< 64 hex digits, most significant first

  friend uint256 operator+(const uint256& a, const uint256& b);
  friend uint256 operator-(const uint256& a, const uint256& b);
  friend uint256 operator~(const uint256& a);
  uint256 operator<<(unsigned n) const;
  uint256 operator>>(unsigned n) const;
  /// Multiplication by a 64-bit factor.
  uint256 times(std::uint64_t factor) const;
  /// Division; division by zero yields zero (callers never divide by zero: targets are > 0).
  friend uint256 operator/(const uint256& a, const uint256& b);

  friend std::strong_ordering operator<=>(const uint256& a, const uint256& b);
  friend bool operator==(const uint256& a, const uint256& b) = default;

  bool is_zero() const {
    return (limbs_[0] | limbs_[1] | limbs_[2] | limbs_[3]) == 0;
  }
  unsigned bits() const; ///< position of the highest set bit plus one (0 for zero)

private:
  std::array<std::uint64_t, 4> limbs_{};
};

/// The expected number of hashes to find a block at `target`: 2^256 / (target + 1).
uint256 block_work(const uint256& target);

} // namespace qtc
