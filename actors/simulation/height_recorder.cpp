#include "actors/simulation/height_recorder.hpp"

#include "actors/support/sibling.hpp"

#include <caf/typed_event_based_actor.hpp>

#include <chrono>
#include <memory>

namespace qtc {

namespace {

/// How soon the recorder looks again when the node has no sync coordinator running (it is
/// starting or restarting).
constexpr auto retry_after = std::chrono::milliseconds{100};

struct recorder_state {
  supervisor_actor node;
  height_recorder_callbacks callbacks;
  sibling<sync_actor> sync;
};

/// Finds the node's sync coordinator, watches it and subscribes; looks again shortly if none runs.
void find_sync(height_recorder_actor::pointer self, const std::shared_ptr<recorder_state>& st) {
  st->sync.find(
      self, st->node, std::chrono::seconds{5},
      [self, st](const sync_actor& sync) {
        self->monitor(sync);
        self->send(sync, subscribe_atom::value, sync_subscriber_actor{self});
        if (st->callbacks.on_sync)
          st->callbacks.on_sync(sync);
      },
      [self](const caf::error&) { self->delayed_send(self, retry_after, tick_atom::value); });
}

} // namespace

height_recorder_actor::behavior_type height_recorder(height_recorder_actor::pointer self,
                                                     supervisor_actor node,
                                                     height_recorder_callbacks callbacks) {
  auto st = std::make_shared<recorder_state>();
  st->node = std::move(node);
  st->callbacks = std::move(callbacks);
  // The node's supervisor gone: the node stopped, and so does its recorder.
  self->monitor(st->node);
  self->set_down_handler([self, st](const caf::down_msg& down) {
    if (st->sync.lost(down))
      self->delayed_send(self, retry_after, tick_atom::value);
    else if (down.source == st->node.address())
      self->quit();
  });
  find_sync(self, st);
  return {
      [](useful_atom, const peer_usefulness&) {
        // What each peer delivered: the peer manager's business, not the simulator's.
      },
      [st](best_atom, std::int32_t height) { st->callbacks.on_best(height); },
      [self, st](tick_atom) { find_sync(self, st); },
  };
}

} // namespace qtc
