// The message catalog: every type that travels in the node's messages, registered once with
// CAF under a stable name, and renderable as JSON.
#pragma once

#include <caf/actor_system_config.hpp>
#include <caf/message.hpp>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace qtc {

/// Registers every message type of the catalog (and the node's error category) with `cfg`.
/// Call once per actor system config, before the system starts.
void register_message_types(caf::actor_system_config& cfg);

/// The names under which the catalog registers its types, e.g. "qtc::child_info".
std::vector<std::string> catalog_type_names();

/// Renders a whole message as a JSON array, one element per value; values of catalog types as
/// objects, other values as CAF renders them.
nlohmann::json message_to_json(const caf::message& msg);

} // namespace qtc
