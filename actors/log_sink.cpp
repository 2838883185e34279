#include "actors/log_sink.hpp"

#include "actors/support/logger.hpp"
#include "messages/errors.hpp"

#include <caf/actor_registry.hpp>
#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <cerrno>
#include <cstring>

namespace qtc {

log_sink_state::~log_sink_state() {
  if (owns_file && out != nullptr)
    std::fclose(out);
}

log_sink_actor::behavior_type log_sink(log_sink_actor::stateful_pointer<log_sink_state> self,
                                       std::string path) {
  if (path.empty()) {
    self->state.out = stderr;
  } else {
    self->state.out = std::fopen(path.c_str(), "a");
    self->state.owns_file = self->state.out != nullptr;
    if (self->state.out == nullptr)
      self->state.out = stderr; // start_log_sink checked the path; a race falls back, loses no line
  }
  return {
      [self](log_atom, const log_record& rec) {
        auto line = format_logfmt(rec);
        line += '\n';
        std::fwrite(line.data(), 1, line.size(), self->state.out);
        std::fflush(self->state.out);
      },
  };
}

caf::expected<log_sink_actor> start_log_sink(caf::actor_system& sys, const std::string& path) {
  if (!path.empty()) {
    // Check here, where the caller can report it, rather than inside the actor.
    std::FILE* probe = std::fopen(path.c_str(), "a");
    if (probe == nullptr)
      return make_error(errc::invalid_config,
                        "cannot open log file " + path + ": " + std::strerror(errno));
    std::fclose(probe);
  }
  auto sink = sys.spawn<caf::detached>(log_sink, path);
  sys.registry().put(log_sink_registry_key, sink);
  return sink;
}

} // namespace qtc
