// The node's error codes (CAF 0.17 error category "qtc").
#pragma once

#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/make_message.hpp>

#include <cstdint>
#include <string>

namespace qtc {

enum class errc : std::uint8_t {
  unspecified = 1,
  restart_intensity_exceeded, ///< a supervisor gave up after too many restarts
  child_start_failed,         ///< a child's start function failed
  no_such_child,              ///< whereis: no running child by that name
  bind_failed,                ///< a listener could not bind its address
  data_dir_unusable,          ///< the data directory cannot be created, locked or read
  invalid_config,             ///< a configuration value is wrong
  storage_failed,             ///< the chain store could not read or write
  not_found,                  ///< the requested item is not stored
  refused,                    ///< a request was refused (e.g. an inbound connection)
  invalid_block,              ///< a submitted block is invalid or does not extend our tip
  unauthorized,               ///< a request without the right credentials (inspector cookie)
  operator_restart,           ///< an operator asked a supervisor to restart the child
};

std::string to_string(errc x);

/// The error category's atom.
constexpr caf::atom_value error_category = caf::atom("qtc");

/// An error of this category with a human-readable context.
caf::error make_error(errc code, std::string what);

/// Registers the category's renderer, so that `to_string(error)` prints names and context.
void register_error_category(caf::actor_system_config& cfg);

/// Renders any error without needing an actor system: "qtc.bind_failed: cannot bind ...".
std::string render_error(const caf::error& x);

} // namespace qtc
