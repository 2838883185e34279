// Inbound eviction: which inbound peer makes room when a new one arrives and the inbound slots
// are full (Bitcoin Core's SelectNodeToEvict, whose rules this follows).
//
// An attacker who can open many inbound connections should not be able to push out the peers
// that make this node useful and hard to eclipse. So, in turn, these are protected and removed
// from the candidates: the 4 with the highest keyed network-group hash (diversity the attacker
// cannot predict), the 8 with the lowest minimum ping (fast), the 4 that most recently sent us
// a transaction new to us, the 8 peers not relaying transactions that most recently sent a block
// new to us, the 4 that most recently sent a block new to us, and then half of the rest by
// longest uptime (local peers first, up to a quarter, as Core does for networks that are
// disadvantaged by latency). Of what is left, the network group with the most connections loses
// its most recent member (ties: the group whose newest member is newest). If nothing is left,
// nobody is evicted and the new connection is refused.
//
// Pure and deterministic: the caller supplies the keyed group hash and the times.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

namespace qtc {

/// One inbound peer as eviction sees it.
struct eviction_candidate {
  using time_point = std::chrono::steady_clock::time_point;
  std::uint64_t id = 0;
  time_point connected{};                  ///< when the connection was accepted
  std::optional<std::int64_t> min_ping_us; ///< none: no pong yet (counts as slowest)
  time_point last_block{};                 ///< last block new to us (epoch: never)
  time_point last_tx{};                    ///< last transaction new to us (epoch: never)
  bool relays_txs = true;                  ///< the peer's version asked for tx relay
  bool local = false;                      ///< loopback: protected like Core's onion/i2p
  std::uint64_t group_key = 0;             ///< keyed hash of the network group
  std::vector<std::uint8_t> group;         ///< the network group itself
  bool discouraged = false;                ///< its address is discouraged: evicted first
};

/// The peer to evict, or none (every candidate is protected).
std::optional<std::uint64_t> select_peer_to_evict(std::vector<eviction_candidate> candidates);

} // namespace qtc
