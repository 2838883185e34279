#include "runtime/peer_candidates.hpp"

#include <algorithm>

namespace qtc {

std::size_t peer_candidates::add(const std::vector<discovered_peer>& peers) {
  std::size_t added = 0;
  for (const auto& p : peers) {
    key k{p.ip, p.port};
    if (auto i = entries_.find(k); i != entries_.end()) {
      if (!p.pubkey_hex.empty())
        i->second.peer.pubkey_hex = p.pubkey_hex;
      i->second.peer.tls_only |= p.tls_only;
      continue;
    }
    if (entries_.size() >= capacity_)
      continue; // full: keep what we have (bounded memory)
    entries_.emplace(k, peer_candidate{p});
    ++added;
  }
  return added;
}

std::optional<discovered_peer>
peer_candidates::select(const std::set<std::vector<std::uint8_t>>& used_groups, bool allow_private,
                        time_point now, std::mt19937_64& rng) {
  std::vector<const peer_candidate*> eligible;
  for (const auto& [k, c] : entries_)
    if (c.next_try <= now && !used_groups.contains(network_group(k.first, allow_private)))
      eligible.push_back(&c);
  if (eligible.empty())
    return std::nullopt;
  std::uniform_int_distribution<std::size_t> pick{0, eligible.size() - 1};
  return eligible[pick(rng)]->peer;
}

void peer_candidates::failed(const ip_bytes& ip, std::uint16_t port, time_point now) {
  auto i = entries_.find({ip, port});
  if (i == entries_.end())
    return;
  auto& c = i->second;
  ++c.failures;
  auto backoff = std::chrono::seconds{1} * (1u << std::min<std::uint32_t>(c.failures - 1, 10));
  c.next_try =
      now + std::min<std::chrono::steady_clock::duration>(backoff, std::chrono::minutes{10});
}

void peer_candidates::tried(const ip_bytes& ip, std::uint16_t port, time_point now) {
  if (auto i = entries_.find({ip, port}); i != entries_.end())
    i->second.next_try = std::max(i->second.next_try, now + std::chrono::seconds{1});
}

void peer_candidates::good(const ip_bytes& ip, std::uint16_t port) {
  if (auto i = entries_.find({ip, port}); i != entries_.end()) {
    i->second.failures = 0;
    i->second.succeeded = true;
  }
}

void peer_candidates::learned_tls_only(const ip_bytes& ip, std::uint16_t port) {
  if (auto i = entries_.find({ip, port}); i != entries_.end())
    i->second.peer.tls_only = true;
}

std::vector<discovered_peer> peer_candidates::sample(std::size_t max, std::mt19937_64& rng) const {
  std::vector<discovered_peer> all;
  for (const auto& [k, c] : entries_)
    if (c.failures < 3)
      all.push_back(c.peer);
  std::shuffle(all.begin(), all.end(), rng);
  if (all.size() > max)
    all.resize(max);
  return all;
}

} // namespace qtc
