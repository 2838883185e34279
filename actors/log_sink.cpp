#include "actors/log_sink.hpp"

#include "actors/support/logger.hpp"
#include "messages/errors.hpp"
#include "messages/services.hpp"

#include <caf/actor_registry.hpp>
#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace qtc {

log_sink_state::~log_sink_state() {
  if (owns_file && out != nullptr)
    std::fclose(out);
}

log_sink_actor::behavior_type log_sink(metered_pointer<log_sink_actor, log_sink_state> self,
                                       std::string path) {
  if (path.empty()) {
    self->state.out = stderr;
  } else {
    self->state.out = std::fopen(path.c_str(), "a");
    self->state.owns_file = self->state.out != nullptr;
    if (self->state.out == nullptr)
      self->state.out = stderr; // start_log_sink checked the path; a race falls back, loses no line
  }
  self->set_down_handler([self](const caf::down_msg& down) {
    auto& followers = self->state.followers;
    followers.erase(std::remove_if(followers.begin(), followers.end(),
                                   [&](const log_follower& f) { return f.handle == down.source; }),
                    followers.end());
  });
  return {
      [self](log_atom, log_record& rec) {
        auto& st = self->state;
        auto line = format_logfmt(rec);
        line += '\n';
        std::fwrite(line.data(), 1, line.size(), st.out);
        std::fflush(st.out);
        for (const auto& f : st.followers)
          if (log_filter_matches(rec, f.actor_prefix, f.level))
            self->send(f.handle, log_atom::value, rec);
        st.backlog.push_back(std::move(rec));
        if (st.backlog.size() > log_backlog_size)
          st.backlog.pop_front();
      },
      [self](get_atom, log_atom, const std::string& actor_prefix, log_level level) {
        std::vector<log_record> out;
        for (const auto& rec : self->state.backlog)
          if (log_filter_matches(rec, actor_prefix, level))
            out.push_back(rec);
        return out;
      },
      [self](subscribe_atom, log_atom, std::string& actor_prefix, log_level level,
             log_subscriber_actor& follower) {
        auto& followers = self->state.followers;
        if (followers.size() >= max_log_followers || !follower)
          return false;
        self->monitor(follower);
        followers.push_back(log_follower{std::move(follower), std::move(actor_prefix), level});
        return true;
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
  if (const auto* host = services_of(sys.config()))
    host->set_log_sink(sink);
  return sink;
}

} // namespace qtc
