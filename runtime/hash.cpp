#include "runtime/hash.hpp"

#include <botan/hash.h>

namespace qtc {

hash256 sha256d(std::span<const std::uint8_t> data) {
  // One hash object per thread: creating it costs more than hashing a header.
  thread_local auto sha = Botan::HashFunction::create_or_throw("SHA-256");
  hash256 first;
  sha->update(data.data(), data.size());
  sha->final(first.data());
  hash256 second;
  sha->update(first.data(), first.size());
  sha->final(second.data());
  return second;
}

std::string to_display_hex(const hash256& h) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(64, '0');
  for (std::size_t i = 0; i < 32; ++i) {
    auto b = h[31 - i];
    out[2 * i] = digits[b >> 4];
    out[2 * i + 1] = digits[b & 0x0f];
  }
  return out;
}

bool from_display_hex(const std::string& hex, hash256& out) {
  if (hex.size() != 64)
    return false;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9')
      return c - '0';
    if (c >= 'a' && c <= 'f')
      return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
      return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < 32; ++i) {
    int hi = nibble(hex[2 * i]);
    int lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return false;
    out[31 - i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return true;
}

} // namespace qtc
