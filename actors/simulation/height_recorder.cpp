#include "actors/simulation/height_recorder.hpp"

namespace qtc {

sync_subscriber_actor::behavior_type height_recorder(sync_subscriber_actor::pointer,
                                                     std::function<void(std::int32_t)> on_best) {
  return {
      [](useful_atom, const peer_usefulness&) {
        // What each peer delivered: the peer manager's business, not the simulator's.
      },
      [on_best](best_atom, std::int32_t height) { on_best(height); },
  };
}

} // namespace qtc
