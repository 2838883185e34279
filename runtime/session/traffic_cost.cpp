#include "runtime/session/traffic_cost.hpp"

#include <array>

namespace qtc {

namespace {

/// Answers, block announcements and requests for chain data (see the header for why).
constexpr std::array<std::string_view, 8> free_commands{
    "headers", "block", "blocktxn", "cmpctblock", "notfound", "pong", "getdata", "getblocktxn",
};

/// The frame header before every payload (magic, command, length, checksum).
constexpr std::uint64_t frame_header_size = 24;

} // namespace

traffic_cost cost_of(std::string_view command, std::size_t payload_size) {
  for (auto free : free_commands)
    if (command == free)
      return {};
  return {1, frame_header_size + payload_size};
}

} // namespace qtc
