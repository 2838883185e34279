#include "messages/primitives/uint256.hpp"

#include "messages/primitives/hex.hpp"

namespace qtc {

namespace {
// GCC's and Clang's 128-bit integer, for carries and 64×64 products.
__extension__ typedef unsigned __int128 u128;
} // namespace

uint256 uint256::from_big_endian(const uint256_be& bytes) {
  uint256 x;
  for (std::size_t i = 0; i < 32; ++i)
    x.limbs_[3 - i / 8] |= std::uint64_t{bytes[i]} << (8 * (7 - i % 8));
  return x;
}

uint256_be uint256::to_big_endian() const {
  uint256_be out{};
  for (std::size_t i = 0; i < 32; ++i)
    out[i] = static_cast<std::uint8_t>(limbs_[3 - i / 8] >> (8 * (7 - i % 8)));
  return out;
}

std::string uint256::to_hex() const {
  auto be = to_big_endian();
  return qtc::to_hex(be);
}

uint256 operator+(const uint256& a, const uint256& b) {
  uint256 r;
  u128 carry = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    carry += static_cast<u128>(a.limbs_[i]) + b.limbs_[i];
    r.limbs_[i] = static_cast<std::uint64_t>(carry);
    carry >>= 64;
  }
  return r;
}

uint256 operator~(const uint256& a) {
  uint256 r;
  for (std::size_t i = 0; i < 4; ++i)
    r.limbs_[i] = ~a.limbs_[i];
  return r;
}

uint256 operator-(const uint256& a, const uint256& b) {
  return a + (~b + uint256{1});
}

uint256 uint256::operator<<(unsigned n) const {
  uint256 r;
  if (n >= 256)
    return r;
  unsigned whole = n / 64, part = n % 64;
  for (std::size_t i = 3 + 1; i-- > whole;) {
    r.limbs_[i] = limbs_[i - whole] << part;
    if (part != 0 && i - whole > 0)
      r.limbs_[i] |= limbs_[i - whole - 1] >> (64 - part);
  }
  return r;
}

uint256 uint256::operator>>(unsigned n) const {
  uint256 r;
  if (n >= 256)
    return r;
  unsigned whole = n / 64, part = n % 64;
  for (std::size_t i = 0; i + whole < 4; ++i) {
    r.limbs_[i] = limbs_[i + whole] >> part;
    if (part != 0 && i + whole + 1 < 4)
      r.limbs_[i] |= limbs_[i + whole + 1] << (64 - part);
  }
  return r;
}

uint256 uint256::times(std::uint64_t factor) const {
  uint256 r;
  u128 carry = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    carry += static_cast<u128>(limbs_[i]) * factor;
    r.limbs_[i] = static_cast<std::uint64_t>(carry);
    carry >>= 64;
  }
  return r;
}

unsigned uint256::bits() const {
  for (std::size_t i = 4; i-- > 0;)
    if (limbs_[i] != 0)
      return static_cast<unsigned>(64 * i + 64 - static_cast<unsigned>(__builtin_clzll(limbs_[i])));
  return 0;
}

uint256 operator/(const uint256& a, const uint256& b) {
  if (b.is_zero() || a < b)
    return uint256{};
  // Shift-subtract long division, starting at the highest bit where b fits under a.
  uint256 num = a, div = b, result;
  int shift = static_cast<int>(num.bits()) - static_cast<int>(div.bits());
  div = div << static_cast<unsigned>(shift);
  for (; shift >= 0; --shift) {
    if (num >= div) {
      num = num - div;
      result.limbs_[static_cast<std::size_t>(shift) / 64] |= 1ULL << (shift % 64);
    }
    div = div >> 1;
  }
  return result;
}

std::strong_ordering operator<=>(const uint256& a, const uint256& b) {
  for (std::size_t i = 4; i-- > 0;)
    if (a.limbs_[i] != b.limbs_[i])
      return a.limbs_[i] <=> b.limbs_[i];
  return std::strong_ordering::equal;
}

uint256 block_work(const uint256& target) {
  // 2^256 / (target + 1) == ~target / (target + 1) + 1, which stays within 256 bits.
  return (~target / (target + uint256{1})) + uint256{1};
}

} // namespace qtc
