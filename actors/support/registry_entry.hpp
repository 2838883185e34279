// Process-wide services register in the actor system's registry: the metrics actor (and the log
// sink). Node components find each other through their supervisor (`whereis`) instead, so that
// many nodes can share one actor system in the simulator. The entry
// goes when the actor does — only if it is still this actor's, so a restarted successor that
// already registered is not removed — and the registry never keeps a stopped actor alive.
#pragma once

#include <caf/actor_cast.hpp>
#include <caf/actor_registry.hpp>
#include <caf/actor_system.hpp>
#include <caf/atom.hpp>

namespace qtc {

template <class Self>
void register_as(Self* self, caf::atom_value key) {
  auto& reg = self->system().registry();
  reg.put(key, caf::actor_cast<caf::strong_actor_ptr>(self));
  self->attach_functor([sys = &self->system(), me = self->address(), key] {
    auto& r = sys->registry();
    if (auto current = r.get(key); current && current->address() == me)
      r.erase(key);
  });
}

} // namespace qtc
