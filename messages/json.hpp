// JSON rendering of any inspectable value, for logs, the inspector and tests.
//
// Walks the same `inspect` overloads that CAF's serializers use; `field("name")` annotations
// (messages/field.hpp) become object keys, values without a name get positional keys "_0", "_1".
#pragma once

#include "messages/field.hpp"

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/atom.hpp>
#include <caf/config_value.hpp>
#include <caf/deep_to_string.hpp>
#include <caf/error.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/timespan.hpp>
#include <caf/timestamp.hpp>
#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace qtc {

class json_inspector;

template <class T>
nlohmann::json to_json_value(const T& x);

nlohmann::json to_json_value(const caf::config_value& x);
nlohmann::json to_json_value(const caf::error& x);
nlohmann::json to_json_value(caf::timespan x);
nlohmann::json to_json_value(caf::timestamp x);
nlohmann::json to_json_value(caf::atom_value x);
nlohmann::json to_json_value(const caf::actor& x);
nlohmann::json to_json_value(const caf::actor_addr& x);
nlohmann::json hex_json(const std::uint8_t* data, std::size_t size);

/// The inspector: fills one JSON object from an `inspect` call's arguments.
class json_inspector {
public:
  using result_type = void;
  static constexpr bool reads_state = true;
  static constexpr bool writes_state = false;

  explicit json_inspector(nlohmann::json& out) : out_(out) {
    out_ = nlohmann::json::object();
  }

  template <class... Ts>
  void operator()(Ts&&... xs) {
    (consume(xs), ...);
  }

private:
  void consume(const caf::meta::type_name_t& x) {
    if (!out_.contains("@type"))
      out_["@type"] = x.value;
  }
  void consume(const field_t& x) {
    key_ = x.name;
  }
  void consume(const caf::meta::annotation&) {
    // Other annotations (hex_formatted, omittable, ...) do not change the JSON shape.
  }
  template <class T>
  std::enable_if_t<!std::is_base_of_v<caf::meta::annotation, std::decay_t<T>>> consume(const T& x) {
    auto key = key_ ? std::string{key_} : "_" + std::to_string(position_);
    ++position_;
    key_ = nullptr;
    out_[key] = to_json_value(x);
  }

  nlohmann::json& out_;
  const char* key_ = nullptr;
  std::size_t position_ = 0;
};

namespace detail {

template <class T>
concept inspectable = requires(json_inspector& f, T& x) {
  inspect(f, x);
};

template <class T>
concept has_to_string = requires(const T& x) {
  { to_string(x) } -> std::convertible_to<std::string>;
};

template <class T>
concept range = requires(const T& x) {
  x.begin();
  x.end();
};

template <class T>
struct is_pair : std::false_type {};
template <class A, class B>
struct is_pair<std::pair<A, B>> : std::true_type {};

template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};

/// A (name, value) pair: lists of these render as JSON objects.
template <class T>
concept named_pair =
    is_pair<T>::value && std::is_convertible_v<typename T::first_type, std::string>;

} // namespace detail

/// Renders one value as JSON (see the file comment for the rules).
template <class T>
nlohmann::json to_json_value(const T& x) {
  if constexpr (std::is_same_v<T, bool>) {
    return x;
  } else if constexpr (std::is_arithmetic_v<T>) {
    return x;
  } else if constexpr (std::is_enum_v<T>) {
    if constexpr (detail::has_to_string<T>)
      return to_string(x);
    else
      return static_cast<std::underlying_type_t<T>>(x);
  } else if constexpr (std::is_convertible_v<const T&, std::string_view>) {
    return std::string{std::string_view{x}};
  } else if constexpr (detail::is_optional<T>::value) {
    return x ? to_json_value(*x) : nlohmann::json{};
  } else if constexpr (detail::is_pair<T>::value) {
    return nlohmann::json::array({to_json_value(x.first), to_json_value(x.second)});
  } else if constexpr (detail::inspectable<T>) {
    nlohmann::json result;
    json_inspector f{result};
    inspect(f, const_cast<T&>(x)); // the inspector only reads
    return result;
  } else if constexpr (detail::range<T>) {
    using value_type = std::decay_t<decltype(*x.begin())>;
    if constexpr (std::is_same_v<value_type, std::uint8_t>) {
      return hex_json(x.data(), x.size());
    } else if constexpr (detail::named_pair<value_type>) {
      // Maps and lists of (name, value) pairs become objects.
      auto result = nlohmann::json::object();
      for (const auto& [k, v] : x)
        result[std::string{k}] = to_json_value(v);
      return result;
    } else {
      auto result = nlohmann::json::array();
      for (const auto& item : x)
        result.push_back(to_json_value(item));
      return result;
    }
  } else if constexpr (detail::has_to_string<T>) {
    return to_string(x);
  } else {
    return caf::deep_to_string(x);
  }
}

} // namespace qtc
