// Which peer to ask for which announced transaction, and when: the schedule behind getdata for
// transactions, following the rules of Bitcoin Core's TxRequestTracker (src/txrequest.h),
// simplified (no txid/wtxid distinction, no random tie-break, no overload delay).
//
// Every (peer, txid) inv is an "announcement". An announcement has a request time (the earliest
// moment it may be requested), a `preferred` flag (set by the caller for outbound peers), and may
// be in flight (requested, awaiting the tx, with an expiry) or tried (requested from that peer and
// it failed: notfound or timeout). The rules, and why:
//
// - At most one request per txid is in flight, to one peer. Why: asking several peers for the same
//   transaction wastes bandwidth on copies; a failed request moves on to the next announcer.
// - An announcement from a non-preferred (inbound) peer becomes requestable `non_preferred_delay`
//   (2 s) after it arrives; a preferred one at once. Why: an attacker can open many inbound
//   connections and race every transaction; the delay gives the outbound peers (chosen by us, so
//   harder to control) the first chance, and makes being first to every transaction costly.
// - Among the ready announcements of a txid (request time passed, not tried, their peer below its
//   in-flight cap) the request goes to the best: preferred before non-preferred, then the earliest
//   request time, then the earliest announcement. Why: preferred peers are trusted more; the
//   order is deterministic so tests and simulations are reproducible (Core draws at random, which
//   this node does not need while its peer set is small and chosen).
// - A peer is never asked twice for the same txid while its announcement is tracked. Why: a peer
//   that could be asked again could keep a transaction away from us (announce, never answer,
//   repeat) - the censorship attack Core's rule is there for.
// - When every remaining announcement of a txid is tried, the txid is forgotten. Why: nobody is
//   left to ask, and keeping it would hold the announcers' slots; if it is announced again, that is
//   a new attempt.
// - A peer holds at most `max_announcements_per_peer` announcements (Core's
//   MAX_PEER_TX_ANNOUNCEMENTS, 5000) and at most `max_in_flight_per_peer` requests (Core's
//   MAX_PEER_TX_REQUEST_IN_FLIGHT, 100). Why: memory and outstanding work stay bounded per peer,
//   so the whole tracker is bounded by the peer count; a peer at its in-flight cap is passed over
//   so that it cannot hold back transactions other announcers could deliver.
//
// The caller's loop: `announce` on inv; on each tick `expire(now)` then `requestable(peer, now)`
// per peer, and send getdata for what it returns; `received`/`forget` when the transaction is had;
// `not_found` on notfound; `disconnected` when a peer goes.
//
// Cost: a txid's announcements sit in one small vector (one per announcing peer), a peer's txids in
// an ordered index, and in-flight requests in an expiry index. `requestable` and `disconnected`
// walk that one peer's announcements, `expire` only the expired requests; the other calls touch
// only the txid they name. Nothing scans all announcements.
//
// Pure and deterministic: no clock (time is a parameter), no I/O, no randomness.
#pragma once

#include "messages/primitives/hash.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <utility>
#include <vector>

namespace qtc {

class tx_request_tracker {
public:
  using peer_id = std::uint64_t;
  using time_point = std::chrono::steady_clock::time_point;
  using duration = std::chrono::steady_clock::duration;

  struct config {
    /// Core's MAX_PEER_TX_ANNOUNCEMENTS: announcements (of any state) tracked per peer.
    std::size_t max_announcements_per_peer = 5000;
    /// Core's MAX_PEER_TX_REQUEST_IN_FLIGHT: requests awaiting an answer per peer.
    std::size_t max_in_flight_per_peer = 100;
    /// Core's GETDATA_TX_INTERVAL: how long a peer has to deliver a requested transaction.
    duration request_timeout = std::chrono::seconds{60};
    /// Core's NONPREF_PEER_TX_DELAY: how long a non-preferred peer's announcement waits.
    duration non_preferred_delay = std::chrono::seconds{2};
  };

  /// A request that failed by timeout.
  struct expired_request {
    peer_id peer = 0;
    hash256 txid{};
    friend bool operator==(const expired_request&, const expired_request&) = default;
  };

  tx_request_tracker();
  explicit tx_request_tracker(config c);

  /// Records that `peer` announced `txid`. False (nothing stored) if the peer already holds
  /// `max_announcements_per_peer` announcements. A repeated announcement of a txid the peer
  /// already announced changes nothing (not its flag, time or tried state, so re-announcing does
  /// not earn a second request) and returns true: the announcement is tracked. `unlimited`: no
  /// per-peer bound (a peer with the operator's relay permission, as in Core).
  bool announce(peer_id peer, const hash256& txid, bool preferred, time_point now,
                bool unlimited = false);

  /// The txids to request from `peer` now, in the order it announced them; each is marked in
  /// flight to it, expiring at `now + request_timeout`. Call `expire(now)` first so that timed-out
  /// requests make way.
  std::vector<hash256> requestable(peer_id peer, time_point now);

  /// The transaction arrived (from `peer` or anyone): every announcement of it is forgotten.
  void received(peer_id peer, const hash256& txid);

  /// The transaction is known another way (pool, committed block): forgotten entirely.
  void forget(const hash256& txid);

  /// `peer` does not have `txid` (notfound): its announcement is marked tried, so the next best
  /// announcer may be asked at once. True if a request to it was in flight; an unsolicited
  /// notfound still marks the peer's announcement tried (it said it does not have the tx).
  bool not_found(peer_id peer, const hash256& txid);

  /// Fails every in-flight request whose expiry is at or before `now`, like `not_found`. Returns
  /// them, earliest expiry first.
  std::vector<expired_request> expire(time_point now);

  /// Forgets all of `peer`'s announcements; what it had in flight may go to other announcers.
  void disconnected(peer_id peer);

  /// Tracked txids.
  std::size_t size() const {
    return txs_.size();
  }
  /// Announcements `peer` holds (ready, waiting, in flight and tried).
  std::size_t announcements(peer_id peer) const;
  /// Requests in flight to `peer`.
  std::size_t in_flight(peer_id peer) const;
  /// Requests in flight to all peers.
  std::size_t in_flight_total() const {
    return expiries_.size();
  }
  /// Whether a request for `txid` is in flight (to anyone).
  bool is_in_flight(const hash256& txid) const;
  /// The peer a request for `txid` is in flight to, if any.
  std::optional<peer_id> requested_from(const hash256& txid) const;
  /// Whether any peer's announcement of `txid` is tracked.
  bool tracking(const hash256& txid) const {
    return txs_.contains(txid);
  }
  const config& settings() const {
    return config_;
  }

private:
  struct announcement {
    peer_id peer = 0;
    bool preferred = false;
    bool tried = false;
    time_point request_time{};
    std::uint64_t sequence = 0; ///< global announcement order
  };
  /// Everything known about one txid.
  struct tx_entry {
    std::vector<announcement> announcements; ///< one per announcing peer
    std::optional<peer_id> in_flight_to;
    time_point expiry{}; ///< of the in-flight request
  };
  struct peer_entry {
    std::map<std::uint64_t, hash256> by_sequence; ///< its txids, in announcement order
    std::size_t in_flight = 0;
  };
  using tx_iterator = std::map<hash256, tx_entry>::iterator;

  static announcement* find(tx_entry& e, peer_id peer);
  bool ready(const announcement& a, time_point now) const;
  bool best_for(const tx_entry& e, peer_id peer, time_point now) const;
  void start_request(const hash256& txid, tx_entry& e, peer_id peer, time_point now);
  void end_request(const hash256& txid, tx_entry& e);
  void erase_if_exhausted(tx_iterator it);
  void erase_tx(tx_iterator it);

  config config_;
  std::map<hash256, tx_entry> txs_;
  std::map<peer_id, peer_entry> peers_;
  std::set<std::pair<time_point, hash256>> expiries_; ///< in-flight requests by expiry
  std::uint64_t next_sequence_ = 0;
};

} // namespace qtc
