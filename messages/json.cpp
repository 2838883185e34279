#include "messages/json.hpp"

#include "messages/primitives/hex.hpp"

#include <caf/variant.hpp>

namespace qtc {

nlohmann::json hex_json(const std::uint8_t* data, std::size_t size) {
  return to_hex(std::span{data, size});
}

nlohmann::json to_json_value(const caf::config_value& x) {
  struct visitor {
    nlohmann::json operator()(caf::config_value::integer v) const {
      return v;
    }
    nlohmann::json operator()(caf::config_value::boolean v) const {
      return v;
    }
    nlohmann::json operator()(caf::config_value::real v) const {
      return v;
    }
    nlohmann::json operator()(caf::atom_value v) const {
      return caf::to_string(v);
    }
    nlohmann::json operator()(caf::timespan v) const {
      return to_json_value(v);
    }
    nlohmann::json operator()(const caf::uri& v) const {
      return caf::to_string(v);
    }
    nlohmann::json operator()(const std::string& v) const {
      return v;
    }
    nlohmann::json operator()(const caf::config_value::list& v) const {
      auto result = nlohmann::json::array();
      for (const auto& item : v)
        result.push_back(to_json_value(item));
      return result;
    }
    nlohmann::json operator()(const caf::config_value::dictionary& v) const {
      auto result = nlohmann::json::object();
      for (const auto& [key, value] : v)
        result[key] = to_json_value(value);
      return result;
    }
  };
  return caf::visit(visitor{}, x.get_data());
}

nlohmann::json to_json_value(const caf::error& x) {
  if (!x)
    return nullptr;
  return caf::to_string(x);
}

nlohmann::json to_json_value(caf::timespan x) {
  // Durations as seconds (a float), the unit Prometheus and operators read.
  return std::chrono::duration<double>(x).count();
}

nlohmann::json to_json_value(caf::timestamp x) {
  return caf::deep_to_string(x);
}

nlohmann::json to_json_value(caf::atom_value x) {
  return caf::to_string(x);
}

nlohmann::json to_json_value(const caf::actor& x) {
  if (!x)
    return nullptr;
  return "actor#" + std::to_string(x.id());
}

nlohmann::json to_json_value(const caf::actor_addr& x) {
  if (!x)
    return nullptr;
  return "actor#" + std::to_string(x.id());
}

} // namespace qtc
