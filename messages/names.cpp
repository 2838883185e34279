// Names of the catalog's enums, for logs, `deep_to_string` and JSON.
#include "messages/log_record.hpp"
#include "messages/status.hpp"
#include "messages/supervision.hpp"

namespace qtc {

std::string to_string(status_verbosity x) {
  switch (x) {
  case status_verbosity::info:
    return "info";
  case status_verbosity::detailed:
    return "detailed";
  case status_verbosity::debug:
    return "debug";
  }
  return "status_verbosity(" + std::to_string(static_cast<int>(x)) + ")";
}

std::string to_string(restart_type x) {
  switch (x) {
  case restart_type::permanent:
    return "permanent";
  case restart_type::transient:
    return "transient";
  case restart_type::temporary:
    return "temporary";
  }
  return "restart_type(" + std::to_string(static_cast<int>(x)) + ")";
}

std::string to_string(restart_strategy x) {
  switch (x) {
  case restart_strategy::one_for_one:
    return "one_for_one";
  case restart_strategy::rest_for_one:
    return "rest_for_one";
  case restart_strategy::one_for_all:
    return "one_for_all";
  }
  return "restart_strategy(" + std::to_string(static_cast<int>(x)) + ")";
}

std::string to_string(supervision_event_kind x) {
  switch (x) {
  case supervision_event_kind::started:
    return "started";
  case supervision_event_kind::restarted:
    return "restarted";
  case supervision_event_kind::stopped:
    return "stopped";
  case supervision_event_kind::escalated:
    return "escalated";
  }
  return "supervision_event_kind(" + std::to_string(static_cast<int>(x)) + ")";
}

std::string to_string(log_level x) {
  switch (x) {
  case log_level::error:
    return "error";
  case log_level::warning:
    return "warning";
  case log_level::info:
    return "info";
  case log_level::debug:
    return "debug";
  case log_level::trace:
    return "trace";
  }
  return "log_level(" + std::to_string(static_cast<int>(x)) + ")";
}

std::optional<log_level> parse_log_level(std::string_view name) {
  for (auto level :
       {log_level::error, log_level::warning, log_level::info, log_level::debug, log_level::trace})
    if (name == to_string(level))
      return level;
  return std::nullopt;
}

} // namespace qtc
