// Who may not connect, until when, and what each address did wrong.
//
// The peer manager's seam to the node's security policy: it asks `banned` before every
// connection, in and out, and reports each peer's protocol violations with `misbehaved`. Today
// every violation bans its address for the chain spec's ban_duration (the peer manager owns this
// list); the security manager will own the decision (graduated responses, persistence) and keep
// the peer manager's copy current, so the questions asked here stay the same. Time is passed in.
#pragma once

#include "runtime/net/ip_address.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

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

  /// Records a protocol violation of `ip` and bans it for `duration` from `now`.
  void misbehaved(const ip_bytes& ip, std::string what, time_point now,
                  std::chrono::seconds duration);

  /// The recorded conduct of `ip` (kept after its ban ran out); null if it never misbehaved.
  const conduct* conduct_of(const ip_bytes& ip) const;

  /// The bans, including ones that ran out and were not asked about since.
  const std::map<ip_bytes, time_point>& bans() const {
    return bans_;
  }

private:
  std::map<ip_bytes, time_point> bans_;
  std::map<ip_bytes, conduct> conduct_;
};

} // namespace qtc
