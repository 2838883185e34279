// Peers' view of our address, as a second opinion beside STUN (libp2p's identify and AutoNAT do
// the same): every outbound peer's `version` carries the address it sees us at (addr_recv). Each
// peer address counts once, with its latest report; reports expire. An IP is "confirmed" when at
// least `threshold` distinct peers agree on it. Ports are not compared: an outbound
// connection's source port is an ephemeral one, not where we listen.
#pragma once

#include "runtime/net/ip_address.hpp"

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>

namespace qtc::nat {

class address_votes {
public:
  using time_point = std::chrono::steady_clock::time_point;

  /// At most this many peers are remembered (the oldest report makes room): bounded memory.
  static constexpr std::size_t max_observers = 256;

  explicit address_votes(std::chrono::seconds expiry = std::chrono::hours{24}) : expiry_(expiry) {}

  /// `observer` says it sees us at `seen`.
  void add(const ip_bytes& seen, const ip_bytes& observer, time_point now);

  /// The IP most peers agree on and how many do (nothing if no report is current).
  std::optional<std::pair<ip_bytes, std::size_t>> leader(time_point now) const;

  /// The leading IP if at least `threshold` peers agree on it.
  std::optional<ip_bytes> confirmed(std::size_t threshold, time_point now) const;

  /// How many current reports name `ip`.
  std::size_t agreeing(const ip_bytes& ip, time_point now) const;

  std::size_t observers() const {
    return reports_.size();
  }

private:
  struct report {
    ip_bytes seen{};
    time_point at{};
  };
  std::chrono::seconds expiry_;
  std::map<ip_bytes, report> reports_; ///< by observer
};

} // namespace qtc::nat
