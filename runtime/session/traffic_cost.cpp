#include "runtime/session/traffic_cost.hpp"

#include "messages/p2p.hpp"

#include <algorithm>
#include <array>

namespace qtc {

namespace {

/// Answers, block announcements and requests for chain data (see the header for why).
constexpr std::array<std::string_view, 8> free_commands{
    "headers", "block", "blocktxn", "cmpctblock", "notfound", "pong", "getdata", "getblocktxn",
};

/// A full headers payload: the count 2,000 as a compact size (0xfd, then 2,000 little-endian),
/// then 2,000 times an 80-byte header and its transaction count 0.
constexpr std::size_t header_entry_size = 81;
constexpr std::size_t full_headers_size = 3 + max_headers_results * header_entry_size;

} // namespace

traffic_cost cost_of(std::string_view command, std::size_t payload_size) {
  for (auto free : free_commands)
    if (command == free)
      return {};
  return {1, frame_header_size + payload_size}; // 24-byte header (messages/framing)
}

std::optional<hash256> last_of_full_headers(std::span<const std::uint8_t> payload) {
  if (payload.size() != full_headers_size || payload[0] != 0xfd
      || (payload[1] | (payload[2] << 8)) != max_headers_results)
    return std::nullopt;
  return sha256d(payload.subspan(payload.size() - header_entry_size, 80));
}

std::optional<hash256> first_locator_hash(std::span<const std::uint8_t> payload) {
  // version (4 bytes), the count as a compact size below 253 (one byte: at most 101 hashes),
  // then the hashes.
  if (payload.size() < 4 + 1 + 32 || payload[4] == 0 || payload[4] >= 0xfd)
    return std::nullopt;
  hash256 h;
  std::copy_n(payload.begin() + 5, 32, h.begin());
  return h;
}

} // namespace qtc
