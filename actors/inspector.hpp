// The inspector: answers "what is every component doing right now" for a running node, and runs
// the operator's commands.
//
// It asks the root supervisor for its children and each child for its status report, reads
// every actor's meter (mailbox depth, handling times: actors/support/metered.hpp), asks the peer
// manager, the sync coordinator and the security manager for the live view, forwards actions
// (bans, disconnect, restart) and the log to those who own them. When `inspector-port` is set
// it is published as a CAF remote actor, so `qtc-inspect` attaches over TCP. Every request is
// checked against the cookie it writes to `<data-dir>/.inspect-cookie` at start
// (runtime/inspect/inspector_access); refusals are logged and counted.
#pragma once

#include "actors/log_sink.hpp"
#include "actors/support/logger.hpp"
#include "actors/support/metered.hpp"
#include "actors/support/metrics_client.hpp"
#include "messages/interfaces.hpp"
#include "runtime/inspect/inspector_access.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

namespace qtc {

/// Where and how the inspector runs.
struct inspector_config {
  std::string node_name;
  std::string host = "127.0.0.1"; ///< where it listens (decides whether reads need the cookie)
  int port = 0;                   ///< 0: not published; -1: any free port
  std::filesystem::path data_dir; ///< for `.inspect-cookie`; empty: no cookie (no actions)
  log_sink_actor log_sink;        ///< the node's log, for `log`
};

struct inspector_state {
  logger log;
  metrics_client metrics;
  supervisor_actor root;
  inspector_config config;
  std::shared_ptr<actor_meter_registry> meters; ///< the actor system's, if it meters
  std::optional<inspector_access> access;
  std::filesystem::path cookie_path; ///< written at start, removed at exit; empty if none
  std::string address;               ///< where it is published, or "" when not
  std::uint64_t queries = 0;
  std::uint64_t refused = 0;
  std::vector<log_follower> followers; ///< `qtc-inspect log --follow`, each with its filter
  bool following_sink = false;         ///< subscribed to the log sink (on the first follower)
  ~inspector_state();
  static inline const char* name = "inspector";
};

using inspector_pointer = metered_pointer<inspector_actor, inspector_state>;

inspector_actor::behavior_type inspector(inspector_pointer self, supervisor_actor root,
                                         inspector_config config);

/// Spawns the inspector and, if `config.port` is not 0, publishes it on host:port (-1: any free
/// port).
caf::expected<caf::actor> start_inspector(caf::actor_system& sys, const supervisor_actor& root,
                                          inspector_config config);

/// (actors/inspector_views.cpp) The answer to `tree`: every component's status with its meter.
caf::result<status_report> tree_view(inspector_pointer self, status_verbosity v);

/// (actors/inspector_views.cpp) The answer to `top`: actors, peers, sync and bans.
caf::result<status_report> top_view(inspector_pointer self);

/// (actors/inspector_views.cpp) One actor's meter as a report: id, name, label, mailbox,
/// messages-per-second, slowest-ms, handling-ms, handled, busy-ms.
status_report meter_report(const metered_actor_info& a);

} // namespace qtc
