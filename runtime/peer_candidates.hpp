// The peer manager's view of addresses it may connect to: what discovery and relay offered,
// with connection attempts and backoff. (The address manager with keyed new/tried tables takes
// over the storage; this is the interface the peer manager uses.)
#pragma once

#include "messages/discovery.hpp"
#include "runtime/ip_address.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <vector>

namespace qtc {

struct peer_candidate {
  discovered_peer peer;
  std::uint32_t failures = 0;
  std::chrono::steady_clock::time_point next_try{};
  bool succeeded = false; ///< a handshake with it completed once
};

class peer_candidates {
public:
  using time_point = std::chrono::steady_clock::time_point;

  explicit peer_candidates(std::size_t capacity = 4096) : capacity_(capacity) {}

  /// Adds or refreshes candidates; returns how many were new.
  std::size_t add(const std::vector<discovered_peer>& peers);

  /// A candidate to try now whose network group is not in `used_groups`, chosen at random.
  std::optional<discovered_peer> select(const std::set<std::vector<std::uint8_t>>& used_groups,
                                        bool allow_private, time_point now, std::mt19937_64& rng);

  /// A connection attempt failed: back off exponentially (1 s, 2 s, ... up to 10 min).
  void failed(const ip_bytes& ip, std::uint16_t port, time_point now);

  /// A connection attempt is under way or done: do not pick it again for a while.
  void tried(const ip_bytes& ip, std::uint16_t port, time_point now);

  /// The handshake completed.
  void good(const ip_bytes& ip, std::uint16_t port);

  /// The peer turned out not to speak Noise: connect over TLS from now on.
  void learned_tls_only(const ip_bytes& ip, std::uint16_t port);

  /// Up to `max` candidates, for answering getaddr.
  std::vector<discovered_peer> sample(std::size_t max, std::mt19937_64& rng) const;

  std::size_t size() const {
    return entries_.size();
  }

private:
  using key = std::pair<ip_bytes, std::uint16_t>;
  std::size_t capacity_;
  std::map<key, peer_candidate> entries_;
};

} // namespace qtc
