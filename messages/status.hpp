// The shared status protocol: every component of the node answers `status`.
#pragma once

#include "messages/atoms.hpp"

#include <caf/replies_to.hpp>
#include <caf/settings.hpp>
#include <caf/typed_actor.hpp>

#include <cstdint>
#include <string>

namespace qtc {

/// How much a status report should contain.
enum class status_verbosity : std::uint8_t {
  info,     ///< what an operator looks at: state and headline numbers
  detailed, ///< plus per-item breakdowns (per peer, per child, ...)
  debug,    ///< plus internals useful only to the node's developers
};

std::string to_string(status_verbosity x);

/// A status report: a nested dictionary, so that any component can say what it has and every
/// consumer (logs, JSON, the remote inspector) can render it without knowing the component.
/// Every report has at least `name` and `state`.
using status_report = caf::settings;

/// The shared status protocol, which every component's interface extends (messages/interfaces.hpp).
using status_actor = caf::typed_actor<
    // Returns the component's status report at the requested verbosity.
    caf::replies_to<status_atom, status_verbosity>::with<status_report>>;

} // namespace qtc
