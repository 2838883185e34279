// The inspector: answers "what is every component doing right now" for a running node.
//
// It asks the root supervisor for its children and each child for its status report, and
// returns them together. When `inspector-port` is set, it is published as a CAF remote actor,
// so `qtc-inspect` attaches over TCP; the status reports travel in CAF's own serialization.
#pragma once

#include "actors/support/logger.hpp"
#include "messages/interfaces.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <cstdint>
#include <string>

namespace qtc {

struct inspector_state {
  logger log;
  supervisor_actor root;
  std::string node_name;
  std::string address; ///< where it is published, or "" when not
  std::uint64_t queries = 0;
  static inline const char* name = "inspector";
};

inspector_actor::behavior_type inspector(inspector_actor::stateful_pointer<inspector_state> self,
                                         supervisor_actor root, std::string node_name);

/// Spawns the inspector and, if `port` is not 0, publishes it on host:port (-1: any free port).
caf::expected<caf::actor> start_inspector(caf::actor_system& sys, const supervisor_actor& root,
                                          std::string node_name, const std::string& host, int port);

} // namespace qtc
