// Writing a status report: one call per field, whatever the value's type.
//
// A report is a caf::settings dictionary whose numbers are 64-bit integers or doubles. `report`
// converts counters of any integer width (and enums' underlying values stay enums' business: pass
// to_string), keeps doubles, strings, booleans, nested reports and lists as they are, and stores
// the key as one name (a dot in it does not make a path, unlike caf::put).
#pragma once

#include "messages/status.hpp"

#include <caf/config_value.hpp>

#include <chrono>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace qtc {

template <class T>
void report(status_report& r, std::string_view key, T&& value) {
  using V = std::decay_t<T>;
  if constexpr (std::is_same_v<V, bool>)
    r.insert_or_assign(key, caf::config_value{value});
  else if constexpr (std::is_integral_v<V>)
    r.insert_or_assign(key, caf::config_value{static_cast<caf::config_value::integer>(value)});
  else if constexpr (std::is_floating_point_v<V>)
    r.insert_or_assign(key, caf::config_value{static_cast<double>(value)});
  else if constexpr (std::is_convertible_v<V, std::string_view> && !std::is_same_v<V, std::string>)
    r.insert_or_assign(key, caf::config_value{std::string{std::string_view{value}}});
  else
    r.insert_or_assign(key, caf::config_value{std::forward<T>(value)});
}

/// Whole seconds from `since` to `now`, or -1 when `since` is the epoch (never happened).
template <class TimePoint>
caf::config_value::integer seconds_between(TimePoint since, TimePoint now) {
  if (since == TimePoint{})
    return -1;
  return std::chrono::duration_cast<std::chrono::seconds>(now - since).count();
}

} // namespace qtc
