// Per-address rate limits on unsolicited traffic, granted to sessions in batches.
//
// The chain spec limits each peer address to max_messages_per_minute (100) messages and
// max_bytes_per_minute (1,000,000) bytes of unsolicited traffic, shared by every connection from
// that address: otherwise an attacker multiplies its budget by opening more connections. Each
// address has two token buckets (runtime/net/token_bucket) refilling at a minute's budget per
// minute, holding at most one minute's worth.
//
// Sessions must not ask the security manager about every message, so they hold a local
// allowance and ask for a grant (default: a chunk of 10 messages and 64 KiB) when it runs out.
// A grant is whatever the address's buckets hold, up to what was asked. When it is less, the
// grant says when the buckets will hold the rest (`retry_at`) and the session stops reading its
// socket until then: real backpressure, the peer's TCP window fills and it must slow down.
//
// An address whose grants keep falling short is over its budget persistently (a peer that merely
// bursts is short once and then idle). The seconds during which it was throttled — from a short
// grant to its retry_at — are counted over the last minute; past `sustained_after` (30 s) every
// grant says `sustained`, so that the caller can report offence::rate_exceeded.
//
// Bounded: at most `max_tracked` addresses (65,536). A bucket that is full and has no throttled
// second left in the last minute answers every question exactly as a fresh one would (a new
// address starts with full buckets), so dropping it loses nothing; such entries are dropped
// first. Only when none is left is the least recently active address forgotten, which gives it a
// fresh budget: no more than an attacker with that many addresses already has by using a new
// one. Addresses throttled right now (retry_at in the future) are forgotten last.
//
// Pure and deterministic: time is passed in.
#pragma once

#include "messages/security.hpp"
#include "runtime/net/ip_address.hpp"
#include "runtime/net/token_bucket.hpp"

#include <algorithm>
#include <bitset>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <utility>

namespace qtc {

class rate_budget {
public:
  using time_point = std::chrono::steady_clock::time_point;

  /// What a session asks for when its allowance runs out: small enough that an address's
  /// budget is shared fairly between its connections, large enough that a busy session asks
  /// about once per 10 messages.
  static constexpr std::uint32_t default_chunk_messages = 10;
  static constexpr std::uint64_t default_chunk_bytes = 64 * 1024;

  struct config {
    std::uint32_t max_messages_per_minute = 100; ///< the chain spec's, per address
    std::uint64_t max_bytes_per_minute = 1'000'000;
    std::size_t max_tracked = 65'536; ///< addresses with state (at least 1)
    /// Throttled time within the last minute past which grants say `sustained` (≤ 60 s).
    std::chrono::seconds sustained_after{30};
  };

  struct grant {
    std::uint32_t messages = 0;
    std::uint64_t bytes = 0;
    /// Set iff less than asked was granted: the earliest time at which the buckets hold the
    /// rest (each part capped at a minute's budget, which is all a bucket ever holds).
    std::optional<time_point> retry_at;
    /// The address was throttled for more than `sustained_after` within the last minute.
    bool sustained = false;
    friend bool operator==(const grant&, const grant&) = default;
  };

  struct statistics {
    std::size_t tracked = 0;   ///< addresses with state
    std::size_t throttled = 0; ///< addresses whose last short grant's retry_at is still ahead
    std::uint64_t refused = 0; ///< grants that were less than asked, in total
  };

  rate_budget();
  explicit rate_budget(config c);

  /// Grants up to `messages_wanted` messages and `bytes_wanted` bytes to a session of `ip`.
  /// A part asked as 0 is not limited by this call. If any part asked for would get nothing,
  /// nothing is granted (a message needs both), so no tokens are wasted. An address whose
  /// permissions say `noban` gets everything it asks for and is not tracked: permissions are
  /// passed with each request, not stored, so a lifted permission can never linger here.
  grant request(const ip_bytes& ip, std::uint32_t messages_wanted, std::uint64_t bytes_wanted,
                time_point now, const peer_permissions& permissions = {});

  /// Throttled time of `ip` within the minute before `now`, in whole seconds: a second counts
  /// once it has ended, if any part of it was throttled.
  std::chrono::seconds throttled_for(const ip_bytes& ip, time_point now) const;

  /// Whether `ip` was throttled for more than `d` within the minute before `now`.
  bool over_budget_for(const ip_bytes& ip, std::chrono::seconds d, time_point now) const {
    return throttled_for(ip, now) > d;
  }

  /// Drops the entries that carry no information any more (buckets full, no throttled second
  /// left to count: the case a minute after an address's last request and last retry_at at the
  /// latest), least recently active first; returns how many. There is no release when an
  /// address's last connection closes: its budget and throttled time must survive a reconnection.
  std::size_t prune(time_point now);

  statistics stats(time_point now) const;

  /// Whether `ip` has state (for tests of the bounds).
  bool tracked(const ip_bytes& ip) const {
    return entries_.contains(ip);
  }

private:
  /// The throttled seconds of the last two minutes (a retry_at is at most a minute ahead), one
  /// bit per second since the clock's epoch, in a ring ending at `last_second`.
  struct throttle_seconds {
    std::bitset<128> bits;
    std::int64_t last_second = 0;
    void mark(std::int64_t from, std::int64_t to); ///< seconds [from, to)
    std::int64_t count(std::int64_t from, std::int64_t to) const;
  };

  struct entry {
    token_bucket messages;
    token_bucket bytes;
    time_point last_request;
    time_point throttled_until; ///< the latest short grant's retry_at (epoch: never short)
    throttle_seconds throttled;
  };

  using order_key = std::pair<time_point, ip_bytes>; ///< (quiet_since, ip)

  static time_point quiet_since(const entry& e) {
    return std::max(e.last_request, e.throttled_until);
  }
  bool droppable(const entry& e, time_point now) const;
  /// A new entry (full buckets), making room first if the table is full.
  entry& add(const ip_bytes& ip, time_point now);
  /// What the buckets can give now, taken from them.
  grant take(entry& e, std::uint32_t messages_wanted, std::uint64_t bytes_wanted, time_point now);
  /// When the buckets will hold what is missing (each part capped at its burst).
  time_point refilled_at(const entry& e, std::uint32_t messages_missing,
                         std::uint64_t bytes_missing, time_point now) const;
  void record_short(entry& e, time_point retry_at, time_point now);
  std::int64_t throttled_seconds(const entry& e, time_point now) const;

  config config_;
  double message_rate_; ///< per second
  double byte_rate_;
  std::map<ip_bytes, entry> entries_;
  std::set<order_key> order_; ///< least recently active first
  std::uint64_t refused_ = 0;
};

} // namespace qtc
