#include "runtime/net/peer_eviction.hpp"

#include <algorithm>
#include <map>

namespace qtc {

namespace {

using candidates = std::vector<eviction_candidate>;

/// Sorts so that the most deserving come last, then protects (removes) up to k of the last ones
/// that satisfy `eligible`.
template <class Less, class Eligible>
void protect_last(candidates& c, std::size_t k, Less less, Eligible eligible) {
  std::stable_sort(c.begin(), c.end(), less);
  std::size_t protected_count = 0;
  for (auto i = c.size(); i > 0 && protected_count < k; --i)
    if (eligible(c[i - 1])) {
      c.erase(c.begin() + static_cast<std::ptrdiff_t>(i - 1));
      ++protected_count;
    }
}

template <class Less>
void protect_last(candidates& c, std::size_t k, Less less) {
  protect_last(c, k, less, [](const eviction_candidate&) { return true; });
}

/// Older connections last (they are protected by uptime).
bool newer_first(const eviction_candidate& a, const eviction_candidate& b) {
  return a.connected > b.connected;
}

} // namespace

std::optional<std::uint64_t> select_peer_to_evict(candidates c) {
  // Network diversity the attacker cannot aim at: the group hash is keyed with our secret.
  // Ties (equal keys, unknown pings) favour the older connection, as everywhere below.
  protect_last(c, 4, [](const auto& a, const auto& b) {
    if (a.group_key != b.group_key)
      return a.group_key < b.group_key;
    return newer_first(a, b);
  });
  // Fast peers: lowest minimum ping last (no pong yet counts as slowest).
  protect_last(c, 8, [](const auto& a, const auto& b) {
    auto pa = a.min_ping_us.value_or(INT64_MAX);
    auto pb = b.min_ping_us.value_or(INT64_MAX);
    if (pa != pb)
      return pa > pb;
    return newer_first(a, b);
  });
  // Peers that recently relayed transactions new to us.
  protect_last(c, 4, [](const auto& a, const auto& b) {
    if (a.last_tx != b.last_tx)
      return a.last_tx < b.last_tx;
    if (a.relays_txs != b.relays_txs)
      return !a.relays_txs;
    return newer_first(a, b);
  });
  // Block-relay-only peers that recently delivered blocks.
  protect_last(
      c, 8,
      [](const auto& a, const auto& b) {
        if (a.relays_txs != b.relays_txs)
          return a.relays_txs;
        if (a.last_block != b.last_block)
          return a.last_block < b.last_block;
        return newer_first(a, b);
      },
      [](const eviction_candidate& e) { return !e.relays_txs; });
  // Peers that recently delivered blocks.
  protect_last(c, 4, [](const auto& a, const auto& b) {
    if (a.last_block != b.last_block)
      return a.last_block < b.last_block;
    return newer_first(a, b);
  });
  // Half of the rest by uptime: local peers first (up to a quarter of the rest), then anyone.
  auto to_protect = c.size() / 2;
  auto before = c.size();
  protect_last(c, to_protect / 2, newer_first, [](const eviction_candidate& e) { return e.local; });
  auto done = before - c.size();
  protect_last(c, to_protect - done, newer_first);
  if (c.empty())
    return std::nullopt;
  // Discouraged peers that survived the protections go first (Core's prefer_evict).
  if (std::any_of(c.begin(), c.end(), [](const auto& e) { return e.discouraged; }))
    std::erase_if(c, [](const auto& e) { return !e.discouraged; });
  // The most crowded network group gives up its newest member.
  struct group_stats {
    std::size_t count = 0;
    const eviction_candidate* newest = nullptr;
  };
  std::map<std::vector<std::uint8_t>, group_stats> groups;
  for (const auto& e : c) {
    auto& g = groups[e.group];
    ++g.count;
    if (g.newest == nullptr || e.connected > g.newest->connected)
      g.newest = &e;
  }
  const group_stats* worst = nullptr;
  for (const auto& [key, g] : groups)
    if (worst == nullptr || g.count > worst->count
        || (g.count == worst->count && g.newest->connected > worst->newest->connected))
      worst = &g;
  return worst->newest->id;
}

} // namespace qtc
