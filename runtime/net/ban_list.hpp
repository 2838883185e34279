// Who may not connect, until when, and what each address did wrong: the peer manager's copy.
//
// The peer manager asks `banned` before every connection, in and out, without a round trip. The
// bans in it come from two places: the security manager's, which decides them
// (runtime/net/security_policy) and keeps this copy current (`replace_policy`, `add_policy`:
// addresses and whole subnets); and the peer manager's own, for what is not a policy matter (an
// address that turned out to be ourselves) or when it runs without a security manager (tests of
// the peer manager alone: then every violation bans for the chain spec's ban_duration, as
// `misbehaved` does). Time is passed in.
#pragma once

#include "messages/security.hpp"
#include "runtime/net/ip_address.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace qtc {

class ban_list {
public:
  using time_point = std::chrono::steady_clock::time_point;

  /// One address's protocol violations: how many, and the last one's description.
  struct conduct {
    std::uint32_t violations = 0;
    std::string last_violation;
  };

  /// Whether `ip` is banned at `now` (a ban that has run out is forgotten).
  bool banned(const ip_bytes& ip, time_point now);

  /// Bans `ip` until `until` (a later ban already in force is kept).
  void ban(const ip_bytes& ip, time_point until);

  /// Records a protocol violation of `ip` (its conduct; no ban).
  void note_violation(const ip_bytes& ip, std::string what);

  /// Records a protocol violation of `ip` and bans it for `duration` from `now`.
  void misbehaved(const ip_bytes& ip, std::string what, time_point now,
                  std::chrono::seconds duration);

  /// The recorded conduct of `ip` (kept after its ban ran out); null if it never misbehaved.
  const conduct* conduct_of(const ip_bytes& ip) const;

  /// The peer manager's own bans, including ones that ran out and were not asked about since.
  const std::map<ip_bytes, time_point>& bans() const {
    return bans_;
  }

  /// The security manager's bans replace those it sent before.
  void replace_policy(const std::vector<ban_view>& bans, time_point now);
  /// One more of the security manager's bans (or, `discouraged`, a discouragement).
  void add_policy(const ban_view& ban, time_point now);
  /// Whether the security manager discouraged `ip` and that has not run out at `now` (a
  /// discouragement that ran out is forgotten).
  bool discouraged(const ip_bytes& ip, time_point now);
  /// Discouragements held (some may have run out and not been asked about since).
  std::size_t discouraged_count() const {
    return discouraged_.size();
  }
  /// The security manager's bans in force (subnets count once).
  std::size_t policy_bans() const;
  /// The security manager's bans in force at `now`, as it sent them (seconds from `now`).
  std::vector<ban_view> policy_list(time_point now) const;

private:
  /// Whether one of the security manager's bans covers `ip` at `now`.
  bool policy_banned(const ip_bytes& ip, time_point now) const;

  /// The security manager's bans by prefix length, then masked base: a check looks up each
  /// length in use (at most 129), never scans the list.
  std::map<std::uint8_t, std::map<ip_bytes, time_point>> policy_;
  std::map<ip_bytes, time_point> bans_;
  /// Discouraged addresses until when: at most max_discouraged, the soonest to end dropped first.
  std::map<ip_bytes, time_point> discouraged_;
  static constexpr std::size_t max_discouraged = 65'536;
  std::map<ip_bytes, conduct> conduct_;
};

} // namespace qtc
