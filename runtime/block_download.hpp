// The block download scheduler of headers-first sync: which block to ask which peer for, and
// when a peer is holding everyone up.
//
// Model: Bitcoin Core's block download. Blocks are requested only inside a moving window of
// `window` heights above the last committed block, at most `per_peer` at a time from one peer,
// lowest heights first, each from one peer only. Blocks arrive in any order and are handed out
// for validation and commit strictly in height order, so memory is bounded by the window.
// When the window cannot move because the block at its bottom is still in flight while another
// peer has nothing left to fetch, the peer holding that block is stalling after `stall_timeout`
// and is reported; any request older than `request_timeout` is reported too. Reported peers are
// disconnected by the caller, and what they had in flight goes back to be requested elsewhere.
//
// Pure and deterministic: no clock (time is passed in), no I/O, no randomness.
#pragma once

#include "messages/block.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <vector>

namespace qtc {

class block_download {
public:
  using clock = std::chrono::steady_clock;
  using time_point = clock::time_point;
  using peer_id = std::uint64_t;

  struct config {
    std::uint32_t window = 1024; ///< heights above the commit point that may be requested
    std::uint32_t per_peer = 16; ///< blocks in flight from one peer
    clock::duration stall_timeout = std::chrono::seconds{2};
    /// Longer than any honest block transfer on a working link (a 4 MB block at 1 Mbit/s takes
    /// 32 s); a request older than this is given to another peer.
    clock::duration request_timeout = std::chrono::seconds{60};
  };

  /// A block ready for validation and commit, in height order.
  struct ready_block {
    std::uint32_t height = 0;
    hash256 hash{};
    qtc::block block;
    peer_id from = 0; ///< who delivered it (to score it if the block is invalid)
  };

  /// What a delivered block was.
  enum class arrival : std::uint8_t {
    expected,    ///< requested from this peer: buffered for commit
    unrequested, ///< not requested from this peer (another may have it in flight)
    duplicate,   ///< already arrived or committed
  };

  /// A peer to disconnect and why.
  struct slow_peer {
    peer_id peer = 0;
    bool stalling = false; ///< true: held up the window; false: a request timed out
    std::uint32_t height = 0;
  };

  explicit block_download(config cfg);

  /// The blocks to download: the best chain's hashes for heights first_height, first_height+1...
  /// `first_height` is the lowest height not yet committed on that chain. Called again after
  /// more headers (a longer target) or a reorg (a new chain; what is off it is dropped).
  void set_target(std::uint32_t first_height, std::vector<hash256> hashes);

  /// A peer that can serve blocks up to `best_height` (it may grow: call again).
  void set_peer(peer_id peer, std::uint32_t best_height);

  /// The peer is gone: its requests go back to the queue, first in line.
  void remove_peer(peer_id peer);

  /// The hashes to request from `peer` now (getdata), lowest heights first.
  std::vector<hash256> assign(peer_id peer, time_point now);

  /// A block arrived from `peer`.
  arrival received(peer_id peer, const hash256& hash, qtc::block block, time_point now);

  /// The peer does not have the block: ask someone else, and never this peer again.
  void not_found(peer_id peer, const hash256& hash);

  /// The next block in height order, if it has arrived; the commit point moves past it.
  std::optional<ready_block> take_next();

  /// The block taken at `height` was invalid: it is requested again (not from the peer that
  /// sent it) and the commit point moves back to it.
  void rejected(std::uint32_t height, peer_id from);

  /// Peers to disconnect: the one stalling the window, and those with requests too old.
  std::vector<slow_peer> check(time_point now);

  /// The lowest height not yet handed out by take_next().
  std::uint32_t next_height() const {
    return next_;
  }
  /// The height after the last target block.
  std::uint32_t end_height() const {
    return first_ + static_cast<std::uint32_t>(target_.size());
  }
  std::size_t in_flight() const;
  std::size_t buffered() const;
  std::size_t in_flight(peer_id peer) const;
  std::uint64_t delivered(peer_id peer) const;

private:
  struct slot {
    std::optional<peer_id> peer; ///< requested from, while in flight
    time_point since{};
    std::optional<qtc::block> block; ///< arrived, waiting for the commit point
    peer_id from = 0;
  };
  struct peer_state {
    std::uint32_t best_height = 0;
    std::set<std::uint32_t> heights; ///< in flight from this peer
    std::uint64_t delivered = 0;
  };

  std::optional<std::uint32_t> height_of(const hash256& hash) const;
  void release(std::uint32_t height);

  config cfg_;
  std::uint32_t first_ = 0;
  std::vector<hash256> target_;
  std::map<hash256, std::uint32_t> heights_; ///< hash -> height for the target
  std::uint32_t next_ = 0;
  std::map<std::uint32_t, slot> slots_; ///< requested or arrived heights
  /// Peers that lack a height (notfound) or sent it invalid; kept past take_next() for the
  /// block just taken, which may still be rejected.
  std::map<std::uint32_t, std::set<peer_id>> refused_;
  std::map<peer_id, peer_state> peers_;
  std::optional<time_point> window_blocked_since_;
};

} // namespace qtc
