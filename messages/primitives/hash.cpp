#include "messages/primitives/hash.hpp"

#include "messages/primitives/hex.hpp"

#include <botan/hash.h>

#include <algorithm>

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
  hash256 reversed;
  std::reverse_copy(h.begin(), h.end(), reversed.begin());
  return to_hex(reversed);
}

bool from_display_hex(const std::string& hex, hash256& out) {
  auto raw = from_hex(hex);
  if (!raw || raw->size() != out.size())
    return false;
  std::reverse_copy(raw->begin(), raw->end(), out.begin());
  return true;
}

} // namespace qtc
