// The simulator's ear on one node's sync coordinator: it finds the coordinator through the
// node's supervisor, subscribes as the peer manager does, and hands every change of the node's
// best block height to the simulator, which stamps it with virtual time (time to sync, block
// propagation). When the coordinator stops (the supervisor restarts it) the recorder finds its
// successor and subscribes again, so a restart does not end the node's record. Under the
// deterministic coordinator the callbacks run on the simulator's own thread, between its steps.
#pragma once

#include "messages/interfaces.hpp"

#include <cstdint>
#include <functional>

namespace qtc {

struct height_recorder_callbacks {
  /// Each new best height (the first call is the height at subscription).
  std::function<void(std::int32_t)> on_best;
  /// Each sync coordinator subscribed to (the first, then every successor).
  std::function<void(const sync_actor&)> on_sync;
};

height_recorder_actor::behavior_type height_recorder(height_recorder_actor::pointer self,
                                                     supervisor_actor node,
                                                     height_recorder_callbacks callbacks);

} // namespace qtc
