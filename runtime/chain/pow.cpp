#include "runtime/chain/pow.hpp"

#include <algorithm>

namespace qtc {

std::optional<uint256_be> decode_compact(std::uint32_t bits) {
  auto exponent = bits >> 24;
  auto mantissa = bits & 0x007fffff;
  bool negative = (bits & 0x00800000) != 0;
  if (mantissa == 0 || negative)
    return std::nullopt;
  uint256_be out{};
  // value = mantissa * 256^(exponent - 3)
  if (exponent <= 3) {
    mantissa >>= 8 * (3 - exponent);
    if (mantissa == 0)
      return std::nullopt;
    for (int i = 0; i < 3; ++i)
      out[31 - i] = static_cast<std::uint8_t>(mantissa >> (8 * i));
    return out;
  }
  // The mantissa's three bytes end at byte index 31 - (exponent - 3) from the right.
  for (int i = 0; i < 3; ++i) {
    auto byte = static_cast<std::uint8_t>(mantissa >> (8 * i));
    auto pos = static_cast<long>(31) - static_cast<long>(exponent - 3) - i;
    if (pos < 0) {
      if (byte != 0)
        return std::nullopt; // overflow: more than 256 bits
      continue;
    }
    out[static_cast<std::size_t>(pos)] = byte;
  }
  return out;
}

std::uint32_t encode_compact(const uint256_be& target) {
  std::size_t first = 0;
  while (first < 32 && target[first] == 0)
    ++first;
  if (first == 32)
    return 0;
  std::uint32_t size = static_cast<std::uint32_t>(32 - first);
  std::uint32_t mantissa = 0;
  for (std::size_t i = 0; i < 3; ++i)
    mantissa = mantissa << 8 | (first + i < 32 ? target[first + i] : 0);
  if (mantissa & 0x00800000) {
    // Keep the sign bit clear: shift right one byte and grow the exponent.
    mantissa >>= 8;
    ++size;
  }
  return size << 24 | mantissa;
}

uint256_be to_number(const hash256& h) {
  uint256_be out;
  std::reverse_copy(h.begin(), h.end(), out.begin());
  return out;
}

bool check_proof_of_work(const hash256& hash, std::uint32_t bits, const uint256_be& pow_limit) {
  auto target = decode_compact(bits);
  if (!target || *target > pow_limit)
    return false;
  return to_number(hash) <= *target;
}

uint256 work_of_bits(std::uint32_t bits) {
  auto target = decode_compact(bits);
  return target ? block_work(uint256::from_big_endian(*target)) : uint256{};
}

} // namespace qtc
