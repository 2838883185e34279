// Messages of the supervision tree: how a supervisor describes its children and reports events.
#pragma once

#include "messages/atoms.hpp"
#include "messages/field.hpp"
#include "messages/status.hpp"

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/expected.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/timespan.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace qtc {

/// When a child is restarted after it stops (OTP restart types).
enum class restart_type : std::uint8_t {
  permanent, ///< always restarted
  transient, ///< restarted only after an abnormal exit
  temporary, ///< never restarted (e.g. one peer session)
};

/// Which children a supervisor restarts when one fails (OTP strategies).
enum class restart_strategy : std::uint8_t {
  one_for_one,  ///< only the failed child
  rest_for_one, ///< the failed child and every child started after it
  one_for_all,  ///< all children
};

// Enums travel as their underlying integer (CAF's default); `to_string` gives their names to
// logs, `deep_to_string` and JSON.
std::string to_string(restart_type x);
std::string to_string(restart_strategy x);

struct child_spec;
struct child_info;
struct supervision_event;

/// A supervisor (the root and every inner node of the supervision tree).
using supervisor_actor = status_actor::extend<
    // Lists the children in start order with their current handles.
    caf::replies_to<children_atom>::with<std::vector<child_info>>,
    // Returns the running child with that name (an error if there is none or it is down).
    // Components use the typed form, actors/support/sibling.hpp, not this one.
    caf::replies_to<whereis_atom, std::string>::with<caf::actor>,
    // Starts a dynamic child (appended after the static ones); returns its handle.
    caf::replies_to<start_atom, child_spec>::with<caf::actor>,
    // Restarts a running child by name now, as if it had failed (the operator's `restart`:
    // the strategy and the restart intensity apply); its restarts so far, or an error if
    // there is no such child or it is not running.
    caf::replies_to<restart_atom, std::string>::with<std::uint64_t>,
    // Receives an event from a child supervisor, to pass up the tree (see supervisor_spec).
    caf::reacts_to<supervision_event>,
    // (internal) A scheduled restart is due; carries the epoch that scheduled it.
    caf::reacts_to<restart_atom, std::uint64_t>,
    // (internal) A stopping child's shutdown timeout expired; carries the child's id.
    caf::reacts_to<deadline_atom, std::uint64_t>>;

/// Starts one child: spawns it and returns its handle, or an error if it cannot start (e.g. a
/// port that cannot be bound). `parent` is the supervisor, for children that report to it.
/// The supervisor links itself to the child afterwards.
using child_start = std::function<caf::expected<caf::actor>(caf::actor_system& sys,
                                                            const supervisor_actor& parent)>;

/// How to start and stop one child (OTP child spec).
struct child_spec {
  std::string name;  ///< unique among its siblings; names it in logs and metrics
  child_start start; ///< spawns the child
  restart_type restart = restart_type::permanent;
  caf::timespan shutdown_timeout = std::chrono::seconds{2}; ///< then it is killed
  bool supervisor = false; ///< the child is itself a supervisor (given more time to stop)
};

/// Restart intensity: more than `max_restarts` restarts within `period` make the supervisor give
/// up: it stops all its children and exits, escalating to its own parent.
struct restart_intensity {
  std::uint32_t max_restarts = 3;
  caf::timespan period = std::chrono::seconds{5};
};

/// Delay before a restart: `initial * factor^(n-1)` for the n-th restart within the intensity
/// period, capped at `max`. A zero `initial` restarts at once.
struct restart_backoff {
  caf::timespan initial = caf::timespan{0};
  double factor = 2.0;
  caf::timespan max = std::chrono::seconds{10};
};

/// A whole supervisor: its name, strategy, limits and children in start order.
struct supervisor_spec {
  std::string name;
  restart_strategy strategy = restart_strategy::one_for_one;
  restart_intensity intensity;
  restart_backoff backoff;
  std::vector<child_spec> children;
  /// Only for the root: the child to which supervision events of the whole tree are delivered
  /// (the metrics actor); "" for none. Other supervisors pass events up to their parent.
  std::string event_observer;
};

/// One child of a supervisor, as the supervisor sees it now.
struct child_info {
  std::string name;
  caf::actor handle; ///< invalid while the child is down (restarting or stopped)
  restart_type restart = restart_type::permanent;
  bool supervisor = false;    ///< the child is itself a supervisor
  std::uint32_t restarts = 0; ///< restarts since the supervisor started
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, child_info& x) {
  return f(caf::meta::type_name("child_info"), field("name"), x.name, field("handle"), x.handle,
           field("restart"), x.restart, field("supervisor"), x.supervisor, field("restarts"),
           x.restarts);
}

/// What happened to a child; supervisors pass these up the tree to the root's observer.
enum class supervision_event_kind : std::uint8_t {
  started,   ///< a child was started for the first time
  restarted, ///< a child was restarted after it stopped
  stopped,   ///< a child stopped and will not be restarted
  escalated, ///< the supervisor exceeded its restart intensity and gave up
};

std::string to_string(supervision_event_kind x);

struct supervision_event {
  supervision_event_kind kind = supervision_event_kind::started;
  std::string supervisor; ///< name of the supervisor that acted
  std::string child;      ///< name of the child concerned ("" for `escalated`)
  std::string reason;     ///< why the child stopped, rendered as text ("" for `started`)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, supervision_event& x) {
  return f(caf::meta::type_name("supervision_event"), field("kind"), x.kind, field("supervisor"),
           x.supervisor, field("child"), x.child, field("reason"), x.reason);
}

} // namespace qtc

// A child spec carries a start function: it can travel between local actors, never over a network.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(qtc::child_spec)
