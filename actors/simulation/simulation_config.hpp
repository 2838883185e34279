// The node's actor-system configuration (options and message catalog) switched to simulation:
// CAF's deterministic test coordinator instead of the work-stealing scheduler, CAF's own logger
// off, the node's log lines at `log_level` (stderr). The simulator and the simulation tests use
// the same one, so a behaviour seen in one reproduces in the other.
#pragma once

#include "runtime/config/node_options.hpp"

#include <string>

namespace qtc {

struct simulation_config : node_config {
  explicit simulation_config(const std::string& log_level);
};

} // namespace qtc
