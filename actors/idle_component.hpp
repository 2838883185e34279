// A component whose work arrives with a later issue: today the NAT mapper.
//
// It is a real actor in its place in the supervision tree, restarted like any other, and it
// answers the shared status protocol truthfully: state "idle" and what it will do. It does
// nothing else, and says so.
#pragma once

#include "messages/interfaces.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <string>

namespace qtc {

struct idle_component_state {
  std::string component; ///< its name in the tree, e.g. "discovery"
  std::string purpose;   ///< what it will do, in one line
  static inline const char* name = "idle_component";
};

component_actor::behavior_type
idle_component(component_actor::stateful_pointer<idle_component_state> self, std::string name,
               std::string purpose);

} // namespace qtc
