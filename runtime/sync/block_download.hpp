// The block download scheduler of headers-first sync: which block to ask which peer for, and
// when a peer is holding everyone up.
//
// Model: Bitcoin Core's net_processing block download (the rules, not the code).
//  * Blocks are requested only inside a moving window of `window` heights starting at the commit
//    point (the lowest height not yet handed out for commit), at most `per_peer` at a time from
//    one peer, lowest heights first, each from one peer only, never above a peer's best height.
//  * Blocks arrive in any order and are handed out for validation and commit strictly in height
//    order, so at most `window` blocks are ever buffered.
//  * Stalling: when a peer with free slots finds nothing to request because the window is full,
//    and the block at the commit point is in flight from another peer P, P's stall clock starts.
//    If P delivers nothing within the stall timeout it is reported as stalling (the caller
//    disconnects it) and its blocks are requested from others at once. Each stall doubles the
//    timeout (up to `stall_timeout_max`: on slow links the window may block honestly); each
//    commit shrinks it by 15 % back towards `stall_timeout`, as Core does.
//  * Request timeout: a peer's oldest request is timed from when it became the oldest (when it
//    was sent, or when the one before it was answered), so a peer working through a long queue
//    is not punished for its length. Past `request_timeout` the peer is reported, and its
//    requests go to others and are never sent to it again.
//  * A peer reported as stalling, or whose block was invalid, gets no further requests: the
//    caller is expected to disconnect it and then call remove_peer().
//
// Pure and deterministic: no clock (time is passed in), no I/O, no randomness, no threads.
#pragma once

#include "messages/block.hpp"
#include "runtime/chain/header_tree.hpp" // header_hasher

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>
#include <vector>

namespace qtc {

class block_download {
public:
  using clock = std::chrono::steady_clock;
  using time_point = clock::time_point;
  using peer_id = std::uint64_t;

  struct config {
    /// Heights above the commit point that may be requested (Core: BLOCK_DOWNLOAD_WINDOW).
    std::uint32_t window = 1024;
    /// Blocks in flight from one peer (Core: MAX_BLOCKS_IN_TRANSIT_PER_PEER).
    std::uint32_t per_peer = 16;
    /// A peer with requests in flight is asked for more only once this many of its slots are
    /// free: one getdata (and at the server one store read and one answer message) per few
    /// blocks, not per block. The peer still has per_peer - request_batch blocks to send while
    /// the request travels. A peer with nothing in flight is asked at once.
    std::uint32_t request_batch = 4;
    /// How long the holder of the commit point's block may block the window (Core: 2 s).
    clock::duration stall_timeout = std::chrono::seconds{2};
    /// The ceiling the stall timeout doubles up to after stalls (Core: 64 s).
    clock::duration stall_timeout_max = std::chrono::seconds{64};
    /// How long a peer's oldest request may go unanswered. Longer than any honest block
    /// transfer on a working link (a 4 MB block at 1 Mbit/s takes 32 s), far shorter than Core's
    /// 10 minutes, which is sized for mainnet blocks behind slow links: a dead link costs a
    /// minute, not ten.
    clock::duration request_timeout = std::chrono::seconds{60};
  };

  /// A block ready for validation and commit, in height order.
  struct ready_block {
    std::uint32_t height = 0;
    hash256 hash{};
    qtc::block block;
    bytes raw;        ///< its serialization as received (empty if none was kept)
    peer_id from = 0; ///< who delivered it (to score it if the block is invalid)
  };

  /// What a delivered block was.
  enum class arrival : std::uint8_t {
    expected,    ///< requested from this peer: buffered for commit
    unrequested, ///< on the target, but not in flight from this peer (late, or never asked)
    duplicate,   ///< already arrived, or already handed out for commit
    unknown,     ///< not a block of the target (off the best chain, or below its first height)
  };

  /// A peer the caller should disconnect, and why.
  struct slow_peer {
    peer_id peer = 0;
    bool stalling = false;    ///< true: held up the window; false: a request timed out
    std::uint32_t height = 0; ///< the block it was late with
  };

  /// Totals for status and metrics.
  struct progress {
    std::uint64_t committed = 0;     ///< blocks handed out by take_next() and not rejected
    std::size_t in_flight = 0;       ///< requested, not yet arrived
    std::size_t buffered = 0;        ///< arrived, waiting for the blocks below them
    std::size_t buffered_bytes = 0;  ///< the bytes they arrived as (kept for storage)
    std::size_t queued = 0;          ///< inside the window, waiting for a peer
    std::uint32_t next_height = 0;   ///< the commit point
    std::uint32_t end_height = 0;    ///< the height after the last target block
    clock::duration stall_timeout{}; ///< the current, adaptive stall timeout
  };

  /// One peer's share, for status.
  struct peer_progress {
    std::uint32_t best_height = 0; ///< the highest block it can serve, as last set
    std::size_t in_flight = 0;     ///< its requests not yet answered
    std::uint64_t delivered = 0;   ///< blocks it sent that were requested from it
    std::uint64_t timeouts = 0;    ///< request timeouts reported
    bool retired = false;          ///< reported stalling or invalid: no more requests
  };

  /// A scheduler with nothing to download and no peers.
  explicit block_download(config cfg);

  /// The blocks to download: the best chain's hashes for heights first_height, first_height+1…
  /// `first_height` is the lowest height not yet stored (or being stored) on that chain; it
  /// becomes the commit point. Call again after more headers (a longer target) or a reorg (a new
  /// chain): what is queued, in flight or buffered at a height whose hash changed is dropped.
  void set_target(std::uint32_t first_height, std::vector<hash256> hashes);

  /// Adds a peer, or updates the best height it can serve (it may shrink after a reorg).
  void set_peer(peer_id peer, std::uint32_t best_height);

  /// The peer is gone: its requests go back to the queue, where the lowest heights go first.
  void remove_peer(peer_id peer);

  /// The hashes to request from `peer` now (one getdata), lowest heights first; empty when its
  /// slots are full, nothing inside the window is left for it, or it is retired.
  std::vector<hash256> assign(peer_id peer, time_point now);

  /// A block is coming from `peer` without our request: pushed by a BIP152 high-bandwidth peer
  /// (an unsolicited cmpctblock) or submitted locally. Only the block at the commit point is
  /// taken: it is then counted as requested from `peer` now (a request of it from another peer
  /// is withdrawn: its late answer becomes `unrequested`), so that received() keeps it and the
  /// request timeout covers a reconstruction that never completes. False, and nothing changes,
  /// for any other block, or one already buffered.
  bool announced(peer_id peer, const hash256& hash, time_point now);

  /// A block arrived from `peer`; only `expected` ones are kept, with `raw`, the bytes it
  /// arrived as (empty if the caller has none), handed back by take_next() for storage.
  arrival received(peer_id peer, const hash256& hash, qtc::block block, time_point now,
                   bytes raw = {});

  /// The peer does not have the block (notfound): ask someone else, and never this peer again.
  void not_found(peer_id peer, const hash256& hash, time_point now);

  /// The next block in height order, if it has arrived; the commit point moves past it.
  std::optional<ready_block> take_next();

  /// The block taken at `height` was invalid: it and every block taken after it go back to the
  /// queue, the commit point moves back to it, and `from` (its sender) is retired with its
  /// requests handed to others. Ignored unless `height` was taken since the last set_target().
  void rejected(std::uint32_t height, peer_id from);

  /// Peers to disconnect: the one stalling the window, and those whose requests timed out.
  /// Their requests go back to the queue at once.
  std::vector<slow_peer> check(time_point now);

  /// The commit point: the lowest height not yet handed out by take_next().
  std::uint32_t next_height() const {
    return next_;
  }
  /// The height after the last target block.
  std::uint32_t end_height() const {
    return first_ + static_cast<std::uint32_t>(target_.size());
  }
  /// Blocks requested and not yet arrived, over all peers.
  std::size_t in_flight() const {
    return requested_.size();
  }
  /// Blocks arrived and waiting for the blocks below them.
  std::size_t buffered() const {
    return arrived_.size();
  }
  /// Blocks in flight from `peer`.
  std::size_t in_flight(peer_id peer) const;
  /// Requested blocks `peer` has delivered.
  std::uint64_t delivered(peer_id peer) const;
  /// Totals for status and metrics.
  progress stats() const;
  /// One peer's share; nothing for an unknown peer.
  std::optional<peer_progress> peer_stats(peer_id peer) const;

private:
  struct request {
    peer_id peer = 0;
    std::uint64_t order = 0; ///< its key in the peer's `requests`
  };
  struct arrived_block {
    qtc::block block;
    bytes raw;
    peer_id from = 0;
  };
  struct peer_state {
    std::uint32_t best_height = 0;
    std::map<std::uint64_t, std::uint32_t> requests; ///< in flight: request order -> height
    time_point oldest_since{};                       ///< when the oldest request became the oldest
    /// Since when it has been holding up the window (while it holds the commit point's block).
    std::optional<time_point> stalling_since;
    std::uint64_t delivered = 0;
    std::uint64_t timeouts = 0;
    bool retired = false; ///< reported stalling or invalid: gets no requests until removed
  };

  const hash256& hash_at(std::uint32_t height) const {
    return target_[height - first_];
  }
  /// The height after the window: the commit point plus the window, at most the target's end.
  std::uint64_t window_end() const;
  /// Whether `peer` lacks `height`, timed out on it or sent it invalid.
  bool refused_by(std::uint32_t height, peer_id peer) const;
  /// Queues the heights the window has newly reached.
  void enqueue_window();
  /// After the commit point moved back: drops what lies above the window, queues the rest.
  void rebuild_window();
  /// Records `height` as requested from `peer` now.
  void start_request(peer_state& p, peer_id peer, std::uint32_t height, time_point now);
  /// Takes the request at `height` back from its peer; `answered`: when the peer answered it
  /// (none: we withdrew it).
  void end_request(std::uint32_t height, std::optional<time_point> answered);
  /// Every request of `peer` goes back to the queue; `refuse`: never to it again.
  void release_all(peer_id peer, bool refuse);
  /// `blocked` found nothing to fetch: if the window is what stops it, the holder of the commit
  /// point's block starts its stall clock.
  void note_stall(peer_id blocked, time_point now);
  /// The holder of the commit point's block, if its stall clock ran out.
  std::optional<slow_peer> find_staller(time_point now);

  config cfg_;
  clock::duration stall_timeout_; ///< the current one: doubled by stalls, relaxed by commits
  std::uint32_t first_ = 0;       ///< the height of target_[0]
  std::vector<hash256> target_;
  std::unordered_map<hash256, std::uint32_t, header_hasher> heights_; ///< target hash -> height
  std::uint32_t next_ = 0;                                            ///< the commit point
  std::uint32_t enqueued_end_ = 0;             ///< [next_, this) is queued, in flight or buffered
  std::set<std::uint32_t> queue_;              ///< heights waiting for a peer
  std::map<std::uint32_t, request> requested_; ///< heights in flight
  std::map<std::uint32_t, arrived_block> arrived_; ///< heights buffered
  /// Peers that lack a height (notfound, timeout) or sent it invalid; kept past take_next() for
  /// the block just taken, which may still be rejected.
  std::map<std::uint32_t, std::set<peer_id>> refused_;
  std::map<peer_id, peer_state> peers_;
  std::uint64_t next_order_ = 0; ///< numbers requests in the order they were sent
  std::uint64_t committed_ = 0;
};

} // namespace qtc
