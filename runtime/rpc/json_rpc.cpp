#include "runtime/rpc/json_rpc.hpp"

#include <stdexcept>

namespace qtc::rpc {

namespace {

using json = nlohmann::json;

/// Thrown by the parser callback to stop a body that is too large or too deep: the document is
/// never finished, so what it would have cost is never allocated.
struct limit_exceeded : std::runtime_error {
  using std::runtime_error::runtime_error;
};

rpc_error invalid_request(std::string message) {
  return {error_code::invalid_request, std::move(message)};
}

/// "<what> of <n> <unit> exceeds the limit of <limit>" as -32600.
rpc_error over_limit(std::string_view what, std::size_t n, std::string_view unit,
                     std::size_t limit) {
  return invalid_request(std::string{what} + " of " + std::to_string(n) + " " + std::string{unit}
                         + " exceeds the limit of " + std::to_string(limit));
}

} // namespace

json rpc_error::to_json() const {
  return json{{"code", static_cast<int>(code)}, {"message", message}};
}

call parse_call(const json& request) {
  call c;
  if (!request.is_object()) {
    c.error = invalid_request("Invalid Request object");
    return c;
  }
  if (auto id = request.find("id"); id != request.end()) {
    c.id = *id;
    c.has_id = true;
  }
  if (auto v = request.find("jsonrpc"); v != request.end() && !v->is_null()) {
    if (!v->is_string()) {
      c.error = invalid_request("jsonrpc field must be a string");
      return c;
    }
    const auto& text = v->get_ref<const std::string&>();
    if (text == "2.0")
      c.version = json_rpc_version::v2;
    else if (text != "1.0") {
      c.error = invalid_request("JSON-RPC version not supported");
      return c;
    }
  }
  auto method = request.find("method");
  if (method == request.end() || method->is_null()) {
    c.error = invalid_request("Missing method");
    return c;
  }
  if (!method->is_string()) {
    c.error = invalid_request("Method must be a string");
    return c;
  }
  c.method = method->get<std::string>();
  auto params = request.find("params");
  if (params == request.end() || params->is_null())
    c.params = json::array();
  else if (params->is_array() || params->is_object())
    c.params = *params;
  else
    c.error = invalid_request("Params must be an array or object");
  return c;
}

parsed_body parse_body(std::string_view body, const request_limits& limits) {
  parsed_body out;
  if (body.size() > limits.max_body_bytes) {
    out.error = over_limit("Request body", body.size(), "bytes", limits.max_body_bytes);
    return out;
  }
  std::size_t values = 0;
  json document;
  try {
    // `depth` counts the arrays and objects around the event: a container starting at depth
    // max_depth would be nested one level more than allowed.
    auto bound = [&](int depth, json::parse_event_t event, json&) {
      bool starts =
          event == json::parse_event_t::object_start || event == json::parse_event_t::array_start;
      if (starts && depth >= limits.max_depth)
        throw limit_exceeded("nesting deeper than " + std::to_string(limits.max_depth));
      if ((starts || event == json::parse_event_t::value) && ++values > limits.max_values)
        throw limit_exceeded("more than " + std::to_string(limits.max_values) + " JSON values");
      return true;
    };
    document = json::parse(body.begin(), body.end(), bound);
  } catch (const limit_exceeded& e) {
    out.error = invalid_request(std::string{"Request too large: "} + e.what());
    return out;
  } catch (const json::exception&) {
    out.error = rpc_error{error_code::parse_error, "Parse error"};
    return out;
  }
  if (document.is_object()) {
    out.calls.push_back(parse_call(document));
    return out;
  }
  if (!document.is_array()) {
    out.error = rpc_error{error_code::parse_error, "Top-level object parse error"};
    return out;
  }
  if (document.size() > limits.max_batch) {
    out.error = over_limit("Batch", document.size(), "requests", limits.max_batch);
    return out;
  }
  out.batch = true;
  out.calls.reserve(document.size());
  for (const auto& element : document)
    out.calls.push_back(parse_call(element));
  return out;
}

json success_reply(const call& c, json result) {
  if (c.version == json_rpc_version::v2)
    return json{{"jsonrpc", "2.0"}, {"result", std::move(result)}, {"id", c.id}};
  return json{{"result", std::move(result)}, {"error", nullptr}, {"id", c.id}};
}

json error_reply(const call& c, const rpc_error& error) {
  if (c.version == json_rpc_version::v2)
    return json{{"jsonrpc", "2.0"}, {"error", error.to_json()}, {"id", c.id}};
  return json{{"result", nullptr}, {"error", error.to_json()}, {"id", c.id}};
}

json body_error_reply(const rpc_error& error) {
  return json{{"result", nullptr}, {"error", error.to_json()}, {"id", nullptr}};
}

int http_status_of(const rpc_error& error) {
  switch (error.code) {
  case error_code::invalid_request:
    return 400;
  case error_code::method_not_found:
    return 404;
  default:
    return 500;
  }
}

int http_status_of(const call& c, const rpc_error& error) {
  // An invalid request object is refused before its version counts (bitcoind parses it first).
  if (c.version == json_rpc_version::v2 && !c.error)
    return 200;
  return http_status_of(error);
}

std::string to_text(const json& reply) {
  return reply.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

} // namespace qtc::rpc
