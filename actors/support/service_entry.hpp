// The metrics actor offers itself to every component through the actor system's service host
// (messages/services.hpp): set when it starts, cleared when it terminates — only if it is still
// this actor, so that a restarted successor that already took its place is not removed, and the
// host never keeps a stopped actor alive.
#pragma once

#include "messages/services.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>

namespace qtc {

template <class Self>
void provide_metrics(Self* self) {
  const auto* host = services_of(self->system().config());
  if (host == nullptr)
    return;
  host->set_metrics(caf::actor_cast<metrics_actor>(self));
  self->attach_functor([host, me = self->address()] {
    if (auto current = host->metrics(); current && current.address() == me)
      host->set_metrics(metrics_actor{});
  });
}

} // namespace qtc
