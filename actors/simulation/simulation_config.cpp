#include "actors/simulation/simulation_config.hpp"

namespace qtc {

simulation_config::simulation_config(const std::string& log_level) {
  set("scheduler.policy", caf::atom("testing"));
  set("logger.file-verbosity", caf::atom("quiet"));
  set("logger.console", caf::atom("none"));
  set("qtcnode.log-level", log_level);
}

} // namespace qtc
