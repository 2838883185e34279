// Which addresses this node has already passed on. An address is relayed once; it is relayed
// again only when announced with a time at least `renew_after` later than the announcement
// relayed (a node re-advertises itself about once a day). Without this, every node that received
// a small announcement sent it to two more peers each time it arrived, so it circled the network
// for its whole ten minutes of freshness (the 200-node simulation carried 95,000 one-address
// `addr` messages in 70 s). Bitcoin Core reaches the same end with a filter of known addresses
// per peer; one filter per node costs less memory and stops the circling as well. The times
// compared come from different nodes' clocks, so only a difference far beyond clock skew counts.
// Keyed (SipHash-2-4 under a random key), so a peer cannot aim collisions at an address it wants
// kept quiet. Bounded: the oldest entries are forgotten first. Pure: no clock, no I/O.
#pragma once

#include "runtime/net/ip_address.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <unordered_map>

namespace qtc {

class relay_filter {
public:
  /// Addresses kept: one forgotten after this many newer ones may be relayed again.
  static constexpr std::size_t default_capacity = 5000;
  /// Seconds by which an announcement's time must pass the relayed one's to be relayed again
  /// (the ten minutes an announcement stays fresh).
  static constexpr std::uint32_t renew_after = 600;

  explicit relay_filter(std::array<std::uint8_t, 16> key, std::size_t capacity = default_capacity);

  /// Whether to relay this announcement of `ip`:`port` carrying `time` (Unix seconds); if so, it
  /// is remembered as the one relayed.
  bool should_relay(const ip_bytes& ip, std::uint16_t port, std::uint32_t time);

  std::size_t size() const {
    return order_.size();
  }

private:
  std::array<std::uint8_t, 16> key_;
  std::size_t capacity_;
  std::unordered_map<std::uint64_t, std::uint32_t> relayed_; ///< address hash -> its time
  std::deque<std::uint64_t> order_;                          ///< oldest first
};

} // namespace qtc
