// One structured log event, as actors send it to the log sink.
#pragma once

#include "messages/field.hpp"

#include <caf/meta/type_name.hpp>
#include <caf/timespan.hpp>
#include <caf/timestamp.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace qtc {

enum class log_level : std::uint8_t { error, warning, info, debug, trace };

std::string to_string(log_level x);

/// Parses "error", "warning", "info", "debug", "trace".
std::optional<log_level> parse_log_level(std::string_view name);

/// Key/value pairs of an event, in the order given.
using log_fields = std::vector<std::pair<std::string, std::string>>;

struct log_record {
  caf::timestamp time;
  log_level level = log_level::info;
  std::string node;  ///< the node's label (several nodes may share a process in simulation)
  std::string actor; ///< who logs, e.g. "supervisor/root", "metrics"
  std::string event; ///< what happened, short and stable, e.g. "child restarted"
  log_fields fields; ///< details
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, log_record& x) {
  return f(caf::meta::type_name("log_record"), field("time"), x.time, field("level"), x.level,
           field("node"), x.node, field("actor"), x.actor, field("event"), x.event, field("fields"),
           x.fields);
}

/// Whether a follower's filter takes the record: its actor's name starts with `actor_prefix`
/// ("" for every actor) and its level is `level` or more severe.
bool log_filter_matches(const log_record& x, std::string_view actor_prefix, log_level level);

/// Renders a duration for humans: "250ms", "5s", "1.5s", "2m30s".
std::string format_duration(caf::timespan d);

/// Renders a record as one logfmt line (no newline):
/// `ts=2026-11-24T15:04:05.123Z level=info node=n1 actor=metrics msg="listening" port=9333`.
std::string format_logfmt(const log_record& x);

} // namespace qtc
