#include "runtime/sync/block_download.hpp"

#include <algorithm>

// Invariant after every public call: each height in [next_, enqueued_end_) is in exactly one of
// queue_ (waiting for a peer), requested_ (in flight) and arrived_ (buffered); nothing outside
// that range is tracked; enqueued_end_ is the window's end. So buffered blocks never outnumber
// the window.

namespace qtc {

block_download::block_download(config cfg) : cfg_(cfg), stall_timeout_(cfg.stall_timeout) {}

void block_download::set_target(std::uint32_t first_height, std::vector<hash256> hashes) {
  const auto old_end = std::uint64_t{end_height()};
  const auto new_end = std::uint64_t{first_height} + hashes.size();
  // A height survives when the new chain has the same block there.
  auto same = [&](std::uint32_t h) {
    return h >= first_height && h < new_end && h >= first_ && h < old_end
           && hashes[h - first_height] == hash_at(h);
  };
  for (std::uint64_t h = first_; h < old_end; ++h)
    if (!same(static_cast<std::uint32_t>(h)))
      heights_.erase(target_[h - first_]);
  for (std::uint64_t h = first_height; h < new_end; ++h)
    if (!same(static_cast<std::uint32_t>(h)))
      heights_[hashes[h - first_height]] = static_cast<std::uint32_t>(h);
  for (auto i = requested_.begin(); i != requested_.end();) {
    auto h = (i++)->first; // end_request erases it
    if (!same(h))
      end_request(h, std::nullopt); // a late answer is then simply unrequested
  }
  std::erase_if(arrived_, [&](const auto& kv) { return !same(kv.first); });
  std::erase_if(refused_, [&](const auto& kv) { return !same(kv.first); });

  first_ = first_height;
  target_ = std::move(hashes);
  if (next_ != first_height)
    for (auto& [id, p] : peers_)
      p.stalling_since.reset(); // a different block now holds up the window
  next_ = first_height;
  rebuild_window();
}

void block_download::set_peer(peer_id peer, std::uint32_t best_height) {
  peers_[peer].best_height = best_height;
}

void block_download::remove_peer(peer_id peer) {
  release_all(peer, false);
  peers_.erase(peer);
}

std::vector<hash256> block_download::assign(peer_id peer, time_point now) {
  std::vector<hash256> out;
  auto pi = peers_.find(peer);
  if (pi == peers_.end() || pi->second.retired)
    return out;
  auto& p = pi->second;
  auto batch = std::min(cfg_.request_batch, cfg_.per_peer);
  if (!p.requests.empty() && p.requests.size() + batch > cfg_.per_peer)
    return out; // still delivering: asked again once a batch of slots is free
  // The queue holds only heights inside the window, lowest first.
  for (auto i = queue_.begin(); i != queue_.end() && p.requests.size() < cfg_.per_peer;) {
    auto h = *i;
    if (h > p.best_height)
      break;
    if (refused_by(h, peer)) {
      ++i;
      continue;
    }
    i = queue_.erase(i);
    start_request(p, peer, h, now);
    out.push_back(hash_at(h));
  }
  if (out.empty() && p.requests.size() < cfg_.per_peer)
    note_stall(peer, now);
  return out;
}

block_download::arrival block_download::received(peer_id peer, const hash256& hash,
                                                 qtc::block block, time_point now, bytes raw) {
  auto hi = heights_.find(hash);
  if (hi == heights_.end())
    return arrival::unknown;
  auto h = hi->second;
  if (h < next_ || arrived_.contains(h))
    return arrival::duplicate;
  auto r = requested_.find(h);
  if (r == requested_.end() || r->second.peer != peer)
    return arrival::unrequested;
  end_request(h, now);
  arrived_.emplace(h, arrived_block{std::move(block), std::move(raw), peer});
  auto& p = peers_.at(peer);
  ++p.delivered;
  p.stalling_since.reset(); // it is delivering (Core clears the stall clock the same way)
  return arrival::expected;
}

bool block_download::announced(peer_id peer, const hash256& hash, time_point now) {
  auto hi = heights_.find(hash);
  if (hi == heights_.end() || hi->second != next_ || arrived_.contains(next_))
    return false;
  auto& p = peers_[peer]; // a local submitter is known to no one else: it gets no requests
  if (auto r = requested_.find(next_); r != requested_.end()) {
    if (r->second.peer == peer)
      return true;
    end_request(next_, std::nullopt);
  }
  queue_.erase(next_);
  start_request(p, peer, next_, now);
  return true;
}

void block_download::not_found(peer_id peer, const hash256& hash, time_point now) {
  auto hi = heights_.find(hash);
  if (hi == heights_.end())
    return;
  auto h = hi->second;
  if (h < next_ || h >= window_end() || arrived_.contains(h))
    return; // nothing we could still ask it for: no need to remember
  refused_[h].insert(peer);
  if (auto r = requested_.find(h); r != requested_.end() && r->second.peer == peer) {
    end_request(h, now);
    queue_.insert(h);
  }
}

std::optional<block_download::ready_block> block_download::take_next() {
  auto a = arrived_.find(next_);
  if (a == arrived_.end())
    return std::nullopt;
  ready_block r{next_, hash_at(next_), std::move(a->second.block), std::move(a->second.raw),
                a->second.from};
  arrived_.erase(a);
  refused_.erase(refused_.begin(), refused_.lower_bound(next_)); // only the one just taken stays
  ++next_;
  ++committed_;
  // Progress: the stall timeout relaxes towards its configured value.
  stall_timeout_ = std::max(cfg_.stall_timeout, stall_timeout_ * 85 / 100);
  enqueue_window();
  return r;
}

void block_download::rejected(std::uint32_t height, peer_id from) {
  if (height < first_ || height >= next_)
    return;
  committed_ -= next_ - height;
  refused_[height].insert(from);
  if (auto p = peers_.find(from); p != peers_.end()) {
    release_all(from, false);
    p->second.retired = true;
  }
  for (auto& [id, p] : peers_)
    p.stalling_since.reset();
  next_ = height;
  rebuild_window();
}

std::vector<block_download::slow_peer> block_download::check(time_point now) {
  std::vector<slow_peer> out;
  auto staller = find_staller(now);
  if (staller)
    out.push_back(*staller);
  for (const auto& [id, p] : peers_)
    if (!p.retired && !p.requests.empty() && now - p.oldest_since >= cfg_.request_timeout
        && !(staller && staller->peer == id))
      out.push_back({id, false, p.requests.begin()->second});
  // Their requests go back to the queue now, so other peers can take them at once.
  for (const auto& s : out) {
    auto& p = peers_.at(s.peer);
    if (s.stalling) {
      release_all(s.peer, false);
      p.retired = true;
      p.stalling_since.reset();
      stall_timeout_ =
          std::max(cfg_.stall_timeout, std::min(stall_timeout_ * 2, cfg_.stall_timeout_max));
    } else {
      release_all(s.peer, true);
      ++p.timeouts;
    }
  }
  return out;
}

std::size_t block_download::in_flight(peer_id peer) const {
  auto i = peers_.find(peer);
  return i == peers_.end() ? 0 : i->second.requests.size();
}

std::uint64_t block_download::delivered(peer_id peer) const {
  auto i = peers_.find(peer);
  return i == peers_.end() ? 0 : i->second.delivered;
}

block_download::progress block_download::stats() const {
  std::size_t buffered_bytes = 0;
  for (const auto& [height, a] : arrived_)
    buffered_bytes += a.raw.size();
  return {committed_, requested_.size(), arrived_.size(), buffered_bytes, queue_.size(),
          next_,      end_height(),      stall_timeout_};
}

std::optional<block_download::peer_progress> block_download::peer_stats(peer_id peer) const {
  auto i = peers_.find(peer);
  if (i == peers_.end())
    return std::nullopt;
  const auto& p = i->second;
  return peer_progress{p.best_height, p.requests.size(), p.delivered, p.timeouts, p.retired};
}

std::uint64_t block_download::window_end() const {
  return std::min<std::uint64_t>(std::uint64_t{next_} + cfg_.window, end_height());
}

bool block_download::refused_by(std::uint32_t height, peer_id peer) const {
  auto i = refused_.find(height);
  return i != refused_.end() && i->second.contains(peer);
}

void block_download::enqueue_window() {
  for (const auto end = window_end(); enqueued_end_ < end; ++enqueued_end_)
    if (!requested_.contains(enqueued_end_) && !arrived_.contains(enqueued_end_))
      queue_.insert(enqueued_end_);
}

void block_download::rebuild_window() {
  const auto end = window_end();
  while (!requested_.empty() && std::prev(requested_.end())->first >= end)
    end_request(std::prev(requested_.end())->first, std::nullopt);
  arrived_.erase(arrived_.lower_bound(static_cast<std::uint32_t>(end)), arrived_.end());
  std::erase_if(refused_, [&](const auto& kv) { return kv.first >= end; });
  queue_.clear();
  enqueued_end_ = next_;
  enqueue_window();
}

void block_download::start_request(peer_state& p, peer_id peer, std::uint32_t height,
                                   time_point now) {
  if (p.requests.empty())
    p.oldest_since = now;
  auto order = next_order_++;
  p.requests.emplace(order, height);
  requested_.emplace(height, request{peer, order});
}

void block_download::end_request(std::uint32_t height, std::optional<time_point> answered) {
  auto r = requested_.find(height);
  auto [peer, order] = r->second;
  requested_.erase(r);
  auto& requests = peers_.at(peer).requests;
  // The next request is timed from now: the peer has been busy with the one answered.
  if (answered && requests.begin()->first == order)
    peers_.at(peer).oldest_since = *answered;
  requests.erase(order);
}

void block_download::release_all(peer_id peer, bool refuse) {
  auto pi = peers_.find(peer);
  if (pi == peers_.end())
    return;
  for (const auto& [order, h] : pi->second.requests) {
    requested_.erase(h);
    queue_.insert(h);
    if (refuse)
      refused_[h].insert(peer);
  }
  pi->second.requests.clear();
}

void block_download::note_stall(peer_id blocked, time_point now) {
  // Blocked by the window: the peer could fetch the block just past it.
  const auto end = window_end();
  if (end >= end_height() || end > peers_.at(blocked).best_height)
    return;
  auto r = requested_.find(next_);
  if (r == requested_.end() || r->second.peer == blocked)
    return;
  auto& holder = peers_.at(r->second.peer);
  if (!holder.stalling_since)
    holder.stalling_since = now;
}

std::optional<block_download::slow_peer> block_download::find_staller(time_point now) {
  auto r = requested_.find(next_);
  // Only the holder of the commit point's block can stall; anyone else's clock is stale.
  for (auto& [id, p] : peers_)
    if (r == requested_.end() || r->second.peer != id)
      p.stalling_since.reset();
  if (r == requested_.end())
    return std::nullopt;
  const auto& holder = peers_.at(r->second.peer);
  if (!holder.stalling_since || now - *holder.stalling_since < stall_timeout_)
    return std::nullopt;
  return slow_peer{r->second.peer, true, next_};
}

} // namespace qtc
