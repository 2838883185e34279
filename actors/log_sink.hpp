// The log sink: the one actor that writes log lines, so lines never interleave.
#pragma once

#include "messages/interfaces.hpp"

#include <caf/fwd.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <cstdio>
#include <string>

namespace qtc {

struct log_sink_state {
  std::FILE* out = nullptr; ///< stderr, or the file named by `qtcnode.log-file`
  bool owns_file = false;
  ~log_sink_state();
  static inline const char* name = "log_sink";
};

/// Writes each record as one logfmt line to `path` (appending), or to stderr if `path` is empty.
log_sink_actor::behavior_type log_sink(log_sink_actor::stateful_pointer<log_sink_state> self,
                                       std::string path);

/// Spawns the sink and registers it in the system's registry, so every `logger` uses it.
/// Returns the sink, or an error if the log file cannot be opened.
caf::expected<log_sink_actor> start_log_sink(caf::actor_system& sys, const std::string& path);

} // namespace qtc
