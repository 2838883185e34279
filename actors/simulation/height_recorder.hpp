// The simulator's ear on one node's sync coordinator: it subscribes as the peer manager does and
// hands every change of the node's best block height to the simulator, which stamps it with
// virtual time (time to sync, block propagation). Under the deterministic coordinator the
// callback runs on the simulator's own thread, between its steps.
#pragma once

#include "messages/interfaces.hpp"

#include <cstdint>
#include <functional>

namespace qtc {

/// `on_best`: called with each new best height (the first call is the height at subscription).
sync_subscriber_actor::behavior_type height_recorder(sync_subscriber_actor::pointer self,
                                                     std::function<void(std::int32_t)> on_best);

} // namespace qtc
