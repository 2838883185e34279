#include "runtime/block_download.hpp"

#include <algorithm>

namespace qtc {

block_download::block_download(config cfg) : cfg_(cfg) {}

void block_download::set_target(std::uint32_t first_height, std::vector<hash256> hashes) {
  // Keep what is still on the new chain; drop the rest (requests are forgotten: a late answer
  // is then simply unrequested).
  std::map<std::uint32_t, slot> kept;
  for (auto& [h, s] : slots_) {
    auto i = h >= first_height ? h - first_height : hashes.size();
    auto old_i = h - first_;
    if (i < hashes.size() && old_i < target_.size() && hashes[i] == target_[old_i])
      kept.emplace(h, std::move(s));
    else if (s.peer)
      peers_[*s.peer].heights.erase(h);
  }
  slots_ = std::move(kept);
  first_ = first_height;
  target_ = std::move(hashes);
  refused_.clear();
  heights_.clear();
  for (std::uint32_t i = 0; i < target_.size(); ++i)
    heights_.emplace(target_[i], first_ + i);
  next_ = first_height;
  // Nothing below the new commit point may stay buffered.
  for (auto i = slots_.begin(); i != slots_.end();)
    if (i->first < next_) {
      if (i->second.peer)
        peers_[*i->second.peer].heights.erase(i->first);
      i = slots_.erase(i);
    } else {
      ++i;
    }
  window_blocked_since_.reset();
}

void block_download::set_peer(peer_id peer, std::uint32_t best_height) {
  auto& p = peers_[peer];
  p.best_height = std::max(p.best_height, best_height);
}

void block_download::remove_peer(peer_id peer) {
  auto i = peers_.find(peer);
  if (i == peers_.end())
    return;
  for (auto h : i->second.heights)
    if (auto s = slots_.find(h); s != slots_.end() && !s->second.block)
      slots_.erase(s); // back to the queue: the lowest unrequested heights go first
  peers_.erase(i);
}

std::vector<hash256> block_download::assign(peer_id peer, time_point now) {
  std::vector<hash256> out;
  auto pi = peers_.find(peer);
  if (pi == peers_.end())
    return out;
  auto& p = pi->second;
  auto window_end = std::min<std::uint64_t>(std::uint64_t{next_} + cfg_.window, end_height());
  bool window_limited = false;
  for (std::uint64_t h = next_; p.heights.size() < cfg_.per_peer; ++h) {
    if (h >= window_end) {
      // More to fetch that this peer has, but the window does not reach it.
      window_limited = window_end < end_height() && window_end <= p.best_height;
      break;
    }
    if (h > p.best_height)
      break;
    auto height = static_cast<std::uint32_t>(h);
    auto& s = slots_[height];
    if (s.peer || s.block || (refused_.contains(height) && refused_[height].contains(peer)))
      continue;
    s.peer = peer;
    s.since = now;
    p.heights.insert(height);
    out.push_back(target_[height - first_]);
  }
  if (out.empty() && window_limited && !window_blocked_since_)
    window_blocked_since_ = now;
  return out;
}

block_download::arrival block_download::received(peer_id peer, const hash256& hash,
                                                 qtc::block block, time_point) {
  auto h = height_of(hash);
  if (!h || *h < next_)
    return h ? arrival::duplicate : arrival::unrequested;
  auto s = slots_.find(*h);
  if (s == slots_.end())
    return arrival::unrequested;
  if (s->second.block)
    return arrival::duplicate;
  if (s->second.peer != peer)
    return arrival::unrequested;
  s->second.block = std::move(block);
  s->second.from = peer;
  s->second.peer.reset();
  auto& p = peers_[peer];
  p.heights.erase(*h);
  ++p.delivered;
  return arrival::expected;
}

void block_download::not_found(peer_id peer, const hash256& hash) {
  auto h = height_of(hash);
  if (!h)
    return;
  auto s = slots_.find(*h);
  if (s == slots_.end() || s->second.peer != peer)
    return;
  s->second.peer.reset();
  refused_[*h].insert(peer);
  peers_[peer].heights.erase(*h);
}

std::optional<block_download::ready_block> block_download::take_next() {
  auto s = slots_.find(next_);
  if (s == slots_.end() || !s->second.block)
    return std::nullopt;
  ready_block r;
  r.height = next_;
  r.hash = target_[next_ - first_];
  r.block = std::move(*s->second.block);
  r.from = s->second.from;
  slots_.erase(s);
  refused_.erase(refused_.begin(), refused_.lower_bound(next_)); // only the one just taken stays
  ++next_;
  window_blocked_since_.reset();
  return r;
}

void block_download::rejected(std::uint32_t height, peer_id from) {
  if (height < first_ || height >= end_height())
    return;
  next_ = std::min(next_, height);
  slots_.erase(height);
  refused_[height].insert(from);
}

std::vector<block_download::slow_peer> block_download::check(time_point now) {
  std::vector<slow_peer> out;
  std::set<peer_id> reported;
  if (window_blocked_since_ && now - *window_blocked_since_ >= cfg_.stall_timeout) {
    if (auto s = slots_.find(next_); s != slots_.end() && s->second.peer) {
      out.push_back({*s->second.peer, true, next_});
      reported.insert(*s->second.peer);
    }
    window_blocked_since_.reset();
  }
  for (const auto& [h, s] : slots_)
    if (s.peer && now - s.since >= cfg_.request_timeout && !reported.contains(*s.peer)) {
      out.push_back({*s.peer, false, h});
      reported.insert(*s.peer);
    }
  // Their requests go back to the queue now, so other peers can take them at once.
  for (const auto& sp : out) {
    auto pi = peers_.find(sp.peer);
    if (pi == peers_.end())
      continue;
    for (auto h : pi->second.heights)
      if (auto s = slots_.find(h); s != slots_.end() && !s->second.block) {
        s->second.peer.reset();
        refused_[h].insert(sp.peer);
      }
    pi->second.heights.clear();
  }
  return out;
}

std::size_t block_download::in_flight() const {
  std::size_t n = 0;
  for (const auto& [id, p] : peers_)
    n += p.heights.size();
  return n;
}

std::size_t block_download::buffered() const {
  return static_cast<std::size_t>(std::count_if(
      slots_.begin(), slots_.end(), [](const auto& kv) { return kv.second.block.has_value(); }));
}

std::size_t block_download::in_flight(peer_id peer) const {
  auto i = peers_.find(peer);
  return i == peers_.end() ? 0 : i->second.heights.size();
}

std::uint64_t block_download::delivered(peer_id peer) const {
  auto i = peers_.find(peer);
  return i == peers_.end() ? 0 : i->second.delivered;
}

std::optional<std::uint32_t> block_download::height_of(const hash256& hash) const {
  auto i = heights_.find(hash);
  if (i == heights_.end())
    return std::nullopt;
  return i->second;
}

} // namespace qtc
