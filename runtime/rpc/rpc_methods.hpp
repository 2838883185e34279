// The RPC methods a QuantumCoin node answers: bitcoind's names, parameters (positional or named)
// and help, and the checks bitcoind applies to a call's parameters before the method runs:
// too many or too few positional parameters answer the method's help as error -1 (as
// bitcoind's RPCHelpMan), an unknown named parameter is -8, a parameter of the wrong JSON type
// is -3.
#pragma once

#include "runtime/rpc/json_rpc.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace qtc::rpc {

/// The JSON types a parameter may take.
enum class param_type {
  integer,         ///< a JSON number without fraction
  string,          ///< a JSON string
  boolean,         ///< true or false
  integer_or_bool, ///< getblock's verbosity: 0/1, or false/true as older clients send
};

struct param_spec {
  std::string_view name;
  param_type type;
  bool required;
  std::string_view help;
};

struct method_spec {
  std::string_view name;
  std::string_view category; ///< the heading `help` lists it under
  std::vector<param_spec> params;
  std::string_view description;
  std::string_view result; ///< what it returns, for `help <method>`
};

/// Every method, in `help`'s order.
const std::vector<method_spec>& methods();

/// The method of this name, or nullptr (error -32601 "Method not found").
const method_spec* find_method(std::string_view name);

/// The call's parameters in the method's order, absent optional ones as null; or the error
/// bitcoind answers.
std::variant<std::vector<nlohmann::json>, rpc_error> bind_params(const method_spec& m,
                                                                 const nlohmann::json& params);

/// `help <method>`: the usage line, the description, the arguments and the result.
std::string help_text(const method_spec& m);

/// `help`: every method's usage line under its category.
std::string help_overview();

/// The JSON type name bitcoind's errors use ("number", "string", "bool", ...).
std::string_view json_type_name(const nlohmann::json& value);

} // namespace qtc::rpc
