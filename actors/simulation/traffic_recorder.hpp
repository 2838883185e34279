// The simulator's metrics actor: it stands where a node's metrics actor would (the actor
// system's service host), so that every session's per-command traffic counts reach it, and sums
// the messages and bytes sent, by command, over the whole simulated network (all nodes share one
// actor system, so one service host). Other metrics are dropped: the simulator reports what it
// measures itself.
#pragma once

#include "messages/interfaces.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <string>

namespace qtc {

struct command_total {
  std::uint64_t messages = 0;
  std::uint64_t bytes = 0;
};

/// Messages and bytes sent by every node, by command label ("version", "headers", ...).
using traffic_totals = std::map<std::string, command_total>;

metrics_actor::behavior_type traffic_recorder(metrics_actor::pointer self,
                                              std::shared_ptr<traffic_totals> totals);

} // namespace qtc
