// The log sink: the one actor that writes log lines, so lines never interleave.
#pragma once

#include "actors/support/metered.hpp"
#include "messages/interfaces.hpp"

#include <caf/fwd.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <cstdio>
#include <deque>
#include <string>
#include <vector>

namespace qtc {

/// One who follows the log, and its filter.
struct log_follower {
  log_subscriber_actor handle;
  std::string actor_prefix;
  log_level level = log_level::info;
};

struct log_sink_state {
  std::FILE* out = nullptr; ///< stderr, or the file named by `qtcnode.log-file`
  bool owns_file = false;
  std::deque<log_record> backlog; ///< the latest records, at most log_backlog_size
  std::vector<log_follower> followers;
  ~log_sink_state();
  static inline const char* name = "log_sink";
};

/// Writes each record as one logfmt line to `path` (appending), or to stderr if `path` is empty;
/// keeps the latest for the inspector and passes them on to followers.
log_sink_actor::behavior_type log_sink(metered_pointer<log_sink_actor, log_sink_state> self,
                                       std::string path);

/// Spawns the sink and gives it to the system's service host (messages/services.hpp), so every
/// `logger` uses it.
/// Returns the sink, or an error if the log file cannot be opened.
caf::expected<log_sink_actor> start_log_sink(caf::actor_system& sys, const std::string& path);

} // namespace qtc
