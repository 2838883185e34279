// The supervisor: OTP supervision on CAF links.
//
// A supervisor starts its children in order, links to them (so they die with it), monitors
// them and traps exits. When a child
// stops, its restart type (permanent / transient / temporary) decides whether it is restarted,
// and the strategy (one_for_one / rest_for_one / one_for_all) decides which siblings are
// restarted with it. Restarts are delayed by a backoff and limited by an intensity: more than
// `max_restarts` within `period` and the supervisor stops all children and exits with
// `errc::restart_intensity_exceeded`, which its own parent treats as a failed child. Stopping a
// supervisor stops its children in reverse start order, each within its shutdown timeout, after
// which it is killed.
//
// Time is the actor clock's, so all of this runs unchanged under the deterministic test
// coordinator.
#pragma once

#include "actors/support/logger.hpp"
#include "actors/support/metered.hpp"
#include "messages/interfaces.hpp"

#include <caf/actor_clock.hpp>
#include <caf/fwd.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <vector>

namespace qtc {

/// What a supervisor knows about one child.
struct child_slot {
  enum class phase : std::uint8_t {
    running,  ///< handle is the running child
    stopping, ///< asked to exit; waiting for it (killed at its deadline)
    down,     ///< not running: waiting for a restart, or stopped for good
  };
  std::uint64_t id = 0; ///< unique within this supervisor, never reused
  child_spec spec;
  caf::actor handle;
  phase state = phase::down;
  std::uint32_t restarts = 0;
  bool dynamic = false; ///< started by a `start` request rather than the spec
};

struct supervisor_state {
  supervisor_spec spec;
  supervisor_actor parent;          ///< invalid for the root
  std::vector<child_slot> children; ///< in start order
  std::uint64_t next_id = 1;
  logger log;
  /// Times of recent restarts, for the intensity limit.
  std::deque<caf::actor_clock::time_point> restart_times;
  /// Children to stop one after another (ids), then `after_stops` runs.
  std::deque<std::uint64_t> stop_queue;
  std::function<void()> after_stops;
  /// Failed children (ids) whose handling waits for the current stop sequence to finish.
  std::deque<std::pair<std::uint64_t, caf::error>> pending_failures;
  /// Children (ids) to start when the scheduled restart is due.
  std::vector<std::uint64_t> pending_restart;
  /// Incremented whenever a scheduled restart must be cancelled; a restart message carries it.
  std::uint64_t restart_epoch = 0;
  bool shutting_down = false;
  /// Children that stopped on their own: the exit message of their link arrives after their
  /// down message and must not be taken for a request to stop this supervisor. (A child stopped
  /// by the supervisor drops its link when asked, so it sends none.) Bounded.
  std::deque<caf::actor_addr> recently_down;
  static constexpr std::size_t recently_down_limit = 1024;

  static inline const char* name = "supervisor";
};

using supervisor_pointer = metered_pointer<supervisor_actor, supervisor_state>;

/// The supervisor's behavior. `parent` is the parent supervisor (invalid for the root).
supervisor_actor::behavior_type supervisor(supervisor_pointer self, supervisor_spec spec,
                                           supervisor_actor parent);

/// A child spec that runs a whole sub-supervisor.
child_spec supervisor_child(supervisor_spec spec, restart_type restart = restart_type::permanent);

/// Whether an exit reason counts as abnormal for transient children (OTP: anything but
/// normal and shutdown).
bool is_abnormal_exit(const caf::error& reason);

} // namespace qtc
