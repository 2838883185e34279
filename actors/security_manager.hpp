// The security manager: every decision about who may talk to the node.
//
// Peers' offences (today: the protocol violations that end sessions, reported by the peer
// manager) are weighed by runtime/net/security_policy against the address's reputation, which
// decays: a bad checksum from a buggy client is counted, ten of them ban, one invalid block bans.
// Bans escalate for repeat offenders (twice as long, then forever), and an address block with
// many banned addresses is banned as a whole, so the tables stay bounded whatever an attacker
// spends on addresses. The verdict is logged and counted where it is made, here.
//
// Rate limits: sessions ask for allowance out of their address's per-minute budget
// (runtime/net/rate_budget), shared by all connections from the address; an address kept over
// budget for most of a minute is charged offence rate-exceeded, at most once a minute.
//
// Attack patterns: every offence, every inbound connection and every peer's static key feed the
// named detectors (runtime/net/attack_detectors). A detector that fires for a subnet charges the
// address its offence again (a pattern across a subnet weighs double); connection churn and
// one key on many addresses are charged as offences of their own. Past a detector's node-wide
// alert threshold, a rate-limited `security alert` line goes to the log.
//
// Admission: the peer manager asks about every inbound connection; the answer is the address's
// standing (banned, discouraged) and the chain spec's per-address and per-subnet limits, counted
// here from the accepted connections the peer manager has open (it tells each close, and all of
// them when it subscribes). Subscribers (the peer manager) get the bans in force and every new
// one, and check outbound connections against their copy without a round trip. The operator lists,
// adds and lifts bans through the inspector (qtc-inspect bans ...). Bans and reputations are kept
// in the chain store (put/get bans) and survive restarts; a ban table that does not read back is
// reported and the node starts with an empty one.
#pragma once

#include "actors/support/logger.hpp"
#include "actors/support/metered.hpp"
#include "actors/support/metrics_client.hpp"
#include "actors/support/sibling.hpp"
#include "actors/support/unix_clock.hpp"
#include "messages/interfaces.hpp"
#include "runtime/net/allowlist.hpp"
#include "runtime/net/attack_detectors.hpp"
#include "runtime/net/rate_budget.hpp"
#include "runtime/net/security_policy.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <array>
#include <cstdint>
#include <map>
#include <vector>

namespace qtc {

/// What the security manager is started with (from the chain spec: actors/node.cpp).
struct security_settings {
  security_policy::config policy;
  rate_budget::config rates;
  attack_detectors::config detectors;
  std::vector<allow_entry> allow; ///< the operator's allowlist (--qtcnode.allow)
};

struct security_manager_state {
  logger log;
  metrics_client metrics;
  security_policy::config config;
  std::vector<allow_entry> allow;
  security_policy policy;
  rate_budget rates;
  attack_detectors detectors;
  /// When each address over its budget was last charged rate-exceeded (at most once a minute;
  /// entries older than that are pruned every tick).
  std::map<std::array<std::uint8_t, 16>, rate_budget::time_point> rate_charged;
  sibling<storage_actor> storage;
  unix_clock unix;
  std::vector<ban_subscriber_actor> subscribers;
  bool loaded = false;     ///< the stored table was read (or found missing or unreadable)
  bool dirty = false;      ///< changed since it was last stored
  bool saving = false;     ///< a write to the store is under way
  bool save_again = false; ///< a ban came during that write: another write follows it
  std::string load_error;  ///< why the stored table was not used, if it was not
  std::array<std::uint64_t, offence_count> offences{}; ///< reported, by kind
  std::array<std::uint64_t, 6> verdicts{};             ///< decided, by verdict
  std::array<std::uint64_t, 6> admissions{};           ///< inbound answers, by admission
  static inline const char* name = "security";
};

using security_pointer = metered_pointer<security_actor, security_manager_state>;

/// `parent` is the node's supervisor, where the storage actor is found.
security_actor::behavior_type security_manager(security_pointer self, security_settings settings,
                                               supervisor_actor parent);

} // namespace qtc
