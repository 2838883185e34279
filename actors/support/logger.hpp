// The per-actor logging facade: one structured line per event, naming the actor.
//
// Records go to the log sink actor of the actor system's service host (messages/services.hpp,
// actors/log_sink.hpp), so that lines from many threads never interleave; without one (unit
// tests) they are written to stderr directly. The threshold comes from the `qtcnode.log-level`
// option.
#pragma once

#include "messages/log_record.hpp"

#include <caf/atom.hpp>
#include <caf/fwd.hpp>

#include <string>

namespace qtc {

class logger {
public:
  logger() = default;

  /// A logger for `actor_name` in `sys`; node label and threshold from the system's config.
  logger(caf::actor_system& sys, std::string actor_name);

  /// Whether events of `level` are written.
  bool enabled(log_level level) const {
    return level <= threshold_;
  }

  void log(log_level level, std::string event, log_fields fields = {}) const;

  void error(std::string event, log_fields fields = {}) const {
    log(log_level::error, std::move(event), std::move(fields));
  }
  void warning(std::string event, log_fields fields = {}) const {
    log(log_level::warning, std::move(event), std::move(fields));
  }
  void info(std::string event, log_fields fields = {}) const {
    log(log_level::info, std::move(event), std::move(fields));
  }
  void debug(std::string event, log_fields fields = {}) const {
    log(log_level::debug, std::move(event), std::move(fields));
  }

  const std::string& actor_name() const {
    return actor_;
  }

private:
  caf::actor_system* sys_ = nullptr;
  std::string actor_;
  std::string node_;
  log_level threshold_ = log_level::info;
};

} // namespace qtc
