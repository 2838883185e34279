// The health actor: judges the node's health and readiness once a second, for the metrics
// actor to serve as `/health` and `/ready` (docs/operations.md, "Health checks").
//
// Each second it asks the metrics actor for the counters the checks read (the same series
// operators graph) and its supervisor for the children that run (the store is open while the
// storage component runs; the node listens while the peer manager runs), feeds a sample to
// runtime/health/health_monitor, and sends the verdicts to the metrics actor, plus a gauge per
// check. Every five seconds it probes each component with a status request: the round trip is
// the time a message waits in that component's mailbox and is handled, the node's message
// latency (an unanswered probe counts as its two-second timeout).
#pragma once

#include "actors/support/logger.hpp"
#include "actors/support/metered.hpp"
#include "actors/support/sibling.hpp"
#include "messages/interfaces.hpp"
#include "runtime/health/health_monitor.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <string>

namespace qtc {

struct health_options {
  health_thresholds thresholds;
  std::chrono::milliseconds sample_interval{1000};
  std::chrono::milliseconds probe_interval{5000};
  std::chrono::milliseconds probe_timeout{2000};
};

struct health_state {
  logger log;
  supervisor_actor parent;
  sibling<metrics_actor> metrics;
  health_options options;
  health_monitor monitor;
  std::uint64_t samples = 0;
  bool sampling = false; ///< a sample's requests are under way
  std::chrono::steady_clock::time_point last_probe{};
  /// The slowest probe answer (or timeout) since the last sample, and whose.
  std::optional<std::chrono::steady_clock::duration> slowest;
  std::string slowest_component;
  health_verdict health;
  health_verdict ready;
  std::set<std::string> mailbox_kinds; ///< actor names the mailbox gauge has had
  static inline const char* name = "health";
};

health_actor::behavior_type health(metered_pointer<health_actor, health_state> self,
                                   supervisor_actor parent, health_options options);

} // namespace qtc
