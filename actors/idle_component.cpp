#include "actors/idle_component.hpp"

#include "actors/support/status_fields.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

namespace qtc {

component_actor::behavior_type
idle_component(component_actor::stateful_pointer<idle_component_state> self, std::string name,
               std::string purpose) {
  self->state.component = std::move(name);
  self->state.purpose = std::move(purpose);
  return {
      [self](status_atom, status_verbosity) -> status_report {
        caf::settings result;
        report(result, "name", self->state.component);
        report(result, "state", "idle");
        report(result, "purpose", self->state.purpose);
        return result;
      },
  };
}

} // namespace qtc
