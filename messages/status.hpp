// The shared status protocol: every component of the node answers `status`.
#pragma once

#include <caf/settings.hpp>

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

} // namespace qtc
