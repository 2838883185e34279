// A sibling component, found through the common supervisor by its interface.
//
// Components of one node find each other through their supervisor rather than a process-wide
// registry, so that many nodes can share one actor system (the simulator). A sibling is asked for
// once, when first needed, and again after it stopped (a restarted sibling is a new actor): the
// owner forgets it in its down handler (`lost`) and asks again when it next needs it. The
// supervisor answers with an untyped handle; this is the one place that gives it its type, from
// the name messages/components.hpp pairs with that type.
#pragma once

#include "messages/components.hpp"
#include "messages/supervision.hpp"

#include <caf/actor_cast.hpp>
#include <caf/error.hpp>
#include <caf/system_messages.hpp>
#include <caf/timespan.hpp>

#include <string>
#include <utility>

namespace qtc {

template <class Handle>
class sibling {
public:
  static constexpr const char* name = component<Handle>::name;

  const Handle& get() const {
    return handle_;
  }

  explicit operator bool() const {
    return static_cast<bool>(handle_);
  }

  /// Whether a request for it is under way.
  bool looking() const {
    return looking_;
  }

  /// Uses `h` without asking (tests that run a component without a supervisor).
  void set(Handle h) {
    handle_ = std::move(h);
  }

  /// Asks `parent` for the sibling unless it is known, already asked for, or there is no parent.
  /// `found(const Handle&)` runs once it is known, `failed(const caf::error&)` when the supervisor
  /// has no such child running (not started yet, or restarting). Both run in `self`'s context.
  template <class Self, class Found, class Failed>
  void find(Self* self, const supervisor_actor& parent, caf::timespan timeout, Found found,
            Failed failed) {
    if (handle_ || looking_ || !parent)
      return;
    looking_ = true;
    // `this` is part of the actor's state, which lives as long as the actor that runs these.
    self->request(parent, timeout, whereis_atom::value, std::string{name})
        .then(
            [this, found = std::move(found)](const caf::actor& handle) mutable {
              looking_ = false;
              handle_ = caf::actor_cast<Handle>(handle);
              found(handle_);
            },
            [this, failed = std::move(failed)](const caf::error& err) mutable {
              looking_ = false;
              failed(err);
            });
  }

  /// Forgets the sibling if `down` is about it (to be asked for again); true if it was.
  bool lost(const caf::down_msg& down) {
    if (!handle_ || down.source != handle_.address())
      return false;
    handle_ = nullptr;
    return true;
  }

private:
  Handle handle_;
  bool looking_ = false;
};

} // namespace qtc
