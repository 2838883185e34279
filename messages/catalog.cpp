#include "messages/catalog.hpp"

#include "messages/errors.hpp"
#include "messages/interfaces.hpp"
#include "messages/json.hpp"

#include <caf/actor_cast.hpp>
#include <caf/deep_to_string.hpp>

#include <functional>
#include <typeindex>
#include <unordered_map>

namespace qtc {

namespace {

/// One catalog entry: how to register a type and how to render it.
struct entry {
  std::string name;
  std::type_index type;
  std::function<void(caf::actor_system_config&, const std::string&)> add;
  std::function<nlohmann::json(const void*)> render;
};

template <class T>
entry make_entry(std::string name) {
  return entry{
      std::move(name),
      std::type_index{typeid(T)},
      [](caf::actor_system_config& cfg, const std::string& n) { cfg.add_message_type<T>(n); },
      [](const void* ptr) { return to_json_value(*static_cast<const T*>(ptr)); },
  };
}

/// An entry for a typed actor handle that travels between nodes (rendered as its actor).
template <class Handle>
entry make_handle_entry(std::string name) {
  return entry{
      std::move(name),
      std::type_index{typeid(Handle)},
      [](caf::actor_system_config& cfg, const std::string& n) { cfg.add_message_type<Handle>(n); },
      [](const void* ptr) {
        return to_json_value(caf::actor_cast<caf::actor>(*static_cast<const Handle*>(ptr)));
      },
  };
}

/// The catalog is immutable after construction.
const std::vector<entry>& entries() {
  static const std::vector<entry> result{
      make_entry<status_verbosity>("qtc::status_verbosity"),
      make_entry<restart_type>("qtc::restart_type"),
      make_entry<restart_strategy>("qtc::restart_strategy"),
      make_entry<child_info>("qtc::child_info"),
      make_entry<supervision_event_kind>("qtc::supervision_event_kind"),
      make_entry<supervision_event>("qtc::supervision_event"),
      make_entry<log_level>("qtc::log_level"),
      make_entry<log_record>("qtc::log_record"),
      make_entry<std::vector<log_record>>("std::vector<qtc::log_record>"),
      // `qtc-inspect log --follow` passes its own handle to the node's inspector.
      make_handle_entry<log_subscriber_actor>("qtc::log_subscriber_actor"),
      make_entry<metric_labels>("qtc::metric_labels"),
      make_entry<std::vector<metric_labels>>("std::vector<qtc::metric_labels>"),
      make_entry<std::vector<double>>("std::vector<double>"),
      make_entry<metric_increment>("qtc::metric_increment"),
      make_entry<std::vector<metric_increment>>("std::vector<qtc::metric_increment>"),
      make_entry<health_snapshot>("qtc::health_snapshot"),
      make_entry<hash256>("qtc::hash256"),
      make_entry<std::vector<hash256>>("std::vector<qtc::hash256>"),
      make_entry<bytes>("qtc::bytes"),
      make_entry<block_header>("qtc::block_header"),
      make_entry<stored_header>("qtc::stored_header"),
      make_entry<stored_block>("qtc::stored_block"),
      make_entry<std::vector<stored_block>>("std::vector<qtc::stored_block>"),
      make_entry<close_reason>("qtc::close_reason"),
      make_entry<connection_type>("qtc::connection_type"),
      make_entry<peer_info>("qtc::peer_info"),
      make_entry<peer_answer>("qtc::peer_answer"),
      make_entry<std::vector<peer_answer>>("std::vector<qtc::peer_answer>"),
      make_entry<peer_closed>("qtc::peer_closed"),
      make_entry<command_traffic>("qtc::command_traffic"),
      make_entry<std::vector<command_traffic>>("std::vector<qtc::command_traffic>"),
      make_entry<peer_activity>("qtc::peer_activity"),
      make_entry<peer_usefulness>("qtc::peer_usefulness"),
      make_entry<discovered_peer>("qtc::discovered_peer"),
      make_entry<std::vector<discovered_peer>>("std::vector<qtc::discovered_peer>"),
      make_entry<offence>("qtc::offence"),
      make_entry<verdict>("qtc::verdict"),
      make_entry<admission>("qtc::admission"),
      make_entry<peer_offence>("qtc::peer_offence"),
      make_entry<ban_view>("qtc::ban_view"),
      make_entry<rate_grant>("qtc::rate_grant"),
      make_entry<std::vector<ban_view>>("std::vector<qtc::ban_view>"),
      make_entry<nat_behaviour>("qtc::nat_behaviour"),
      make_entry<port_mapping_method>("qtc::port_mapping_method"),
      make_entry<self_advertisement>("qtc::self_advertisement"),
      make_entry<upnp_mapping_request>("qtc::upnp_mapping_request"),
      make_entry<upnp_mapping_result>("qtc::upnp_mapping_result"),
  };
  return result;
}

const std::unordered_map<std::type_index, const entry*>& by_type() {
  static const auto result = [] {
    std::unordered_map<std::type_index, const entry*> map;
    for (const auto& e : entries())
      map.emplace(e.type, &e);
    return map;
  }();
  return result;
}

} // namespace

void register_message_types(caf::actor_system_config& cfg) {
  for (const auto& e : entries())
    e.add(cfg, e.name);
  register_error_category(cfg);
}

std::vector<std::string> catalog_type_names() {
  std::vector<std::string> result;
  for (const auto& e : entries())
    result.push_back(e.name);
  return result;
}

nlohmann::json message_to_json(const caf::message& msg) {
  auto result = nlohmann::json::array();
  const auto& index = by_type();
  for (std::size_t i = 0; i < msg.size(); ++i) {
    auto [nr, info] = msg.type(i);
    const void* ptr = msg.get(i);
    if (info != nullptr) {
      if (auto it = index.find(std::type_index{*info}); it != index.end()) {
        result.push_back(it->second->render(ptr));
        continue;
      }
    }
    // Builtin types (numbers, strings, atoms, CAF's own): CAF renders them.
    result.push_back(msg.stringify(i));
  }
  return result;
}

} // namespace qtc
