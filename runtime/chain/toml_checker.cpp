#include "runtime/chain/toml_checker.hpp"

namespace qtc {

std::string type_name(const toml::value& v) {
  switch (v.type()) {
  case toml::value_t::boolean:
    return "a boolean";
  case toml::value_t::integer:
    return "an integer";
  case toml::value_t::floating:
    return "a float";
  case toml::value_t::string:
    return "a string";
  case toml::value_t::array:
    return "an array";
  case toml::value_t::table:
    return "a table";
  case toml::value_t::empty:
    return "nothing";
  default:
    return "a date/time";
  }
}

/// toml11's multi-line message, condensed to its first line without the "[error] " prefix.
std::string condense(const std::string& what) {
  auto line = what.substr(0, what.find('\n'));
  const std::string prefix = "[error] ";
  if (line.rfind(prefix, 0) == 0)
    line.erase(0, prefix.size());
  return line;
}

} // namespace qtc
