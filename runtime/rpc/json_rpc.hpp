// JSON-RPC 1.0/2.0 over HTTP as bitcoind v28 speaks it: parsing a request body (one request or a
// batch) with every size bounded before the document is built, and shaping the replies.
//
// Facts taken from Bitcoin Core (src/rpc/protocol.h, src/rpc/request.cpp, src/httprpc.cpp):
// - a body that is not JSON is -32700 "Parse error"; JSON that is neither an object nor an array
//   is -32700 "Top-level object parse error"; both answered with HTTP 500;
// - a request object is checked in this order: "jsonrpc" (absent or "1.0": legacy; "2.0": v2;
//   another string: "JSON-RPC version not supported"; not a string: "jsonrpc field must be a
//   string"), "method" ("Missing method", "Method must be a string"), "params" (an array, an
//   object or absent/null, else "Params must be an array or object"), each -32600, HTTP 400;
// - legacy replies carry "result", "error" and "id"; v2 replies carry "jsonrpc": "2.0", "id" and
//   one of "result"/"error"; a v2 request without "id" is a notification: executed, not answered
//   (HTTP 204 alone, left out of a batch);
// - a legacy call that fails answers HTTP 400 (-32600), 404 (-32601) or 500 (anything else); a
//   v2 call answers HTTP 200 with the error in the body; a batch is always HTTP 200.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace qtc::rpc {

/// bitcoind's error codes (src/rpc/protocol.h), those a P2P node can answer with.
enum class error_code : int {
  invalid_request = -32600,
  method_not_found = -32601,
  invalid_params = -32602,
  internal_error = -32603,
  parse_error = -32700,
  misc_error = -1,
  type_error = -3,
  invalid_address_or_key = -5,
  invalid_parameter = -8,
  client_not_connected = -9,
  client_in_initial_download = -10,
  database_error = -20,
  deserialization_error = -22,
  client_node_already_added = -23,
  client_node_not_added = -24,
  verify_error = -25,
  verify_rejected = -26,
  verify_already_in_chain = -27,
  in_warmup = -28,
  client_node_not_connected = -29,
  client_invalid_ip_or_subnet = -30,
  client_p2p_disabled = -31,
};

/// An error object: {"code": code, "message": message}.
struct rpc_error {
  error_code code = error_code::misc_error;
  std::string message;
  nlohmann::json to_json() const;
};

enum class json_rpc_version { legacy, v2 };

/// What a request body may hold before it is refused. The body size itself is bounded by the
/// HTTP server (413) before any of this runs.
struct request_limits {
  std::size_t max_body_bytes = 16 * 1024 * 1024; ///< two hex-encoded 4 MB blocks, with room
  std::size_t max_values = 100'000;              ///< JSON values in the whole body
  int max_depth = 64;                            ///< nesting of arrays and objects
  std::size_t max_batch = 1000;                  ///< requests in one batch
};

/// One request object, checked. `error` set: it is invalid and is answered with that error.
struct call {
  json_rpc_version version = json_rpc_version::legacy;
  nlohmann::json id;     ///< null when absent
  bool has_id = false;   ///< v2 without "id": a notification
  std::string method;    ///< set when valid
  nlohmann::json params; ///< an array or an object (absent/null: an empty array)
  std::optional<rpc_error> error;

  bool notification() const {
    return version == json_rpc_version::v2 && !has_id;
  }
};

/// A request body: one call, a batch of calls, or an error for the body as a whole.
struct parsed_body {
  bool batch = false;
  std::vector<call> calls;
  std::optional<rpc_error> error; ///< the body is not a request at all (answered as legacy)
};

/// Parses a body. Never throws; what is wrong is in the result.
parsed_body parse_body(std::string_view body, const request_limits& limits = {});

/// Checks one JSON value as a request object.
call parse_call(const nlohmann::json& request);

/// The reply to `c` when it succeeded.
nlohmann::json success_reply(const call& c, nlohmann::json result);

/// The reply to `c` when it failed (also for an invalid call).
nlohmann::json error_reply(const call& c, const rpc_error& error);

/// The reply to a body that is not a request (parse errors): legacy, id null.
nlohmann::json body_error_reply(const rpc_error& error);

/// The HTTP status of a single (not batched) call's error reply.
int http_status_of(const call& c, const rpc_error& error);

/// The HTTP status of a body error (parse error: 500; invalid request: 400).
int http_status_of(const rpc_error& error);

/// JSON text for a reply; invalid UTF-8 in strings (a peer's user agent) is replaced.
std::string to_text(const nlohmann::json& reply);

} // namespace qtc::rpc
