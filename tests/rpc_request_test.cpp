// The JSON-RPC request parser and reply shapes (runtime/rpc/json_rpc): bitcoind v28's checks,
// codes and HTTP statuses, and every bound exactly at and one past its limit.
#include "runtime/rpc/json_rpc.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace qtc::rpc;
using json = nlohmann::json;

namespace {

/// The single call of a body that must parse as one request.
call one(std::string_view body, const request_limits& limits = {}) {
  auto b = parse_body(body, limits);
  REQUIRE_FALSE(b.error);
  REQUIRE_FALSE(b.batch);
  REQUIRE(b.calls.size() == 1);
  return b.calls.front();
}

/// The error of a body refused as a whole.
rpc_error refused(std::string_view body, const request_limits& limits = {}) {
  auto b = parse_body(body, limits);
  REQUIRE(b.error);
  CHECK(b.calls.empty());
  return *b.error;
}

std::string nested_arrays(int n) {
  return std::string(static_cast<std::size_t>(n), '[')
         + std::string(static_cast<std::size_t>(n), ']');
}

/// A JSON array of `n` copies of `element`.
std::string batch_of(std::size_t n, const std::string& element) {
  std::string out = "[";
  for (std::size_t i = 0; i < n; ++i)
    out += (i ? "," : "") + element;
  return out + "]";
}

} // namespace

TEST_SUITE_BEGIN("rpc");

TEST_CASE("rpc request: a legacy call, its success and error replies and HTTP statuses") {
  auto c = one(R"({"jsonrpc":"1.0","id":"curltest","method":"getblockcount","params":[]})");
  CHECK_FALSE(c.error);
  CHECK(c.version == json_rpc_version::legacy);
  CHECK(c.has_id);
  CHECK(c.id == "curltest");
  CHECK(c.method == "getblockcount");
  CHECK(c.params == json::array());
  CHECK_FALSE(c.notification());
  CHECK(success_reply(c, 5) == json::parse(R"({"result":5,"error":null,"id":"curltest"})"));
  rpc_error not_found{error_code::method_not_found, "Method not found"};
  CHECK(
      error_reply(c, not_found)
      == json::parse(
          R"({"result":null,"error":{"code":-32601,"message":"Method not found"},"id":"curltest"})"));
  // A legacy call's failure is an HTTP error: 404 for -32601, 400 for -32600, 500 otherwise.
  CHECK(http_status_of(c, not_found) == 404);
  CHECK(http_status_of(c, {error_code::invalid_request, ""}) == 400);
  CHECK(http_status_of(c, {error_code::invalid_parameter, ""}) == 500);
  CHECK(http_status_of(c, {error_code::type_error, ""}) == 500);
  CHECK(http_status_of(c, {error_code::misc_error, ""}) == 500);
  // No "jsonrpc" (or null) is legacy too; no "id" is a legacy call answered with id null.
  auto bare = one(R"({"method":"uptime","jsonrpc":null})");
  CHECK(bare.version == json_rpc_version::legacy);
  CHECK_FALSE(bare.has_id);
  CHECK(bare.id.is_null());
  CHECK_FALSE(bare.notification());
  CHECK(bare.params == json::array()); // absent params: no parameters
  CHECK(one(R"({"method":"uptime","params":null})").params == json::array());
}

TEST_CASE("rpc request: a JSON-RPC 2.0 call, notifications, and its replies at HTTP 200") {
  auto c = one(R"({"jsonrpc":"2.0","id":7,"method":"getblockhash","params":{"height":0}})");
  CHECK_FALSE(c.error);
  CHECK(c.version == json_rpc_version::v2);
  CHECK(c.id == 7);
  CHECK(c.params == json{{"height", 0}});
  CHECK(success_reply(c, "ab") == json::parse(R"({"jsonrpc":"2.0","result":"ab","id":7})"));
  rpc_error bad{error_code::invalid_parameter, "Block height out of range"};
  auto e = error_reply(c, bad);
  CHECK(
      e
      == json::parse(
          R"({"jsonrpc":"2.0","error":{"code":-8,"message":"Block height out of range"},"id":7})"));
  CHECK_FALSE(e.contains("result"));
  CHECK(http_status_of(c, bad) == 200);
  CHECK(http_status_of(c, {error_code::method_not_found, "Method not found"}) == 200);
  // Without "id" a 2.0 request is a notification; with "id": null it is not.
  auto n = one(R"({"jsonrpc":"2.0","method":"ping"})");
  CHECK(n.notification());
  CHECK_FALSE(n.has_id);
  auto null_id = one(R"({"jsonrpc":"2.0","method":"ping","id":null})");
  CHECK_FALSE(null_id.notification());
  CHECK(null_id.has_id);
}

TEST_CASE("rpc request: any JSON id is echoed as given") {
  for (const char* id :
       {R"("x")", "0", "-1.5", "true", "null", R"([1,{"a":[]}])", R"({"k":"v"})"}) {
    auto c = one(std::string{R"({"method":"uptime","id":)"} + id + "}");
    CAPTURE(id);
    CHECK(c.id == json::parse(id));
    CHECK(success_reply(c, 1)["id"] == json::parse(id));
  }
}

TEST_CASE("rpc request: wrong types for jsonrpc, method and params are -32600 at HTTP 400") {
  struct bad_case {
    const char* body;
    const char* message;
  };
  for (auto [body, message] : {
           bad_case{R"({"jsonrpc":2,"method":"uptime"})", "jsonrpc field must be a string"},
           bad_case{R"({"jsonrpc":"3.0","method":"uptime"})", "JSON-RPC version not supported"},
           bad_case{R"({"id":1})", "Missing method"},
           bad_case{R"({"method":null})", "Missing method"},
           bad_case{R"({"method":7})", "Method must be a string"},
           bad_case{R"({"method":["uptime"]})", "Method must be a string"},
           bad_case{R"({"method":"uptime","params":"x"})", "Params must be an array or object"},
           bad_case{R"({"method":"uptime","params":3})", "Params must be an array or object"},
           bad_case{R"({"method":"uptime","params":true})", "Params must be an array or object"},
       }) {
    CAPTURE(body);
    auto c = one(body);
    REQUIRE(c.error);
    CHECK(c.error->code == error_code::invalid_request);
    CHECK(c.error->message == message);
    CHECK(http_status_of(c, *c.error) == 400);
  }
  // A 2.0 request that is invalid is still answered in 2.0's shape, with HTTP 400.
  auto v2 = one(R"({"jsonrpc":"2.0","id":3,"method":5})");
  REQUIRE(v2.error);
  CHECK(v2.version == json_rpc_version::v2);
  CHECK(http_status_of(v2, *v2.error) == 400);
  CHECK(
      error_reply(v2, *v2.error)
      == json::parse(
          R"({"jsonrpc":"2.0","error":{"code":-32600,"message":"Method must be a string"},"id":3})"));
}

TEST_CASE("rpc request: malformed JSON and non-request documents are -32700 at HTTP 500") {
  for (const char* body :
       {"", "{", R"({"method":"uptime",})", "{} x", "[1,]", "\"\xff\"", "nul", R"({"a":1e400})"}) {
    CAPTURE(body);
    auto e = refused(body);
    CHECK(e.code == error_code::parse_error);
    CHECK(e.message == "Parse error");
    CHECK(http_status_of(e) == 500);
  }
  for (const char* body : {"42", R"("getblockcount")", "null", "true"}) {
    CAPTURE(body);
    auto e = refused(body);
    CHECK(e.code == error_code::parse_error);
    CHECK(e.message == "Top-level object parse error");
  }
  CHECK(body_error_reply({error_code::parse_error, "Parse error"})
        == json::parse(
            R"({"result":null,"error":{"code":-32700,"message":"Parse error"},"id":null})"));
  CHECK(http_status_of(rpc_error{error_code::invalid_request, ""}) == 400);
  CHECK(http_status_of(rpc_error{error_code::method_not_found, ""}) == 404);
}

TEST_CASE("rpc request: a batch holds every element, invalid ones answered in place") {
  auto b = parse_body(
      R"([{"jsonrpc":"2.0","id":1,"method":"uptime"},{"jsonrpc":"2.0","method":"ping"},5,{"id":2}])");
  REQUIRE_FALSE(b.error);
  CHECK(b.batch);
  REQUIRE(b.calls.size() == 4);
  CHECK_FALSE(b.calls[0].error);
  CHECK(b.calls[0].id == 1);
  CHECK(b.calls[1].notification());
  REQUIRE(b.calls[2].error);
  CHECK(b.calls[2].error->code == error_code::invalid_request);
  CHECK(b.calls[2].error->message == "Invalid Request object");
  REQUIRE(b.calls[3].error);
  CHECK(b.calls[3].error->message == "Missing method");
  CHECK(b.calls[3].id == 2);
  auto empty = parse_body("[]");
  CHECK_FALSE(empty.error);
  CHECK(empty.batch);
  CHECK(empty.calls.empty());
}

TEST_CASE("rpc request: the default bounds are bitcoind-sized") {
  request_limits d;
  CHECK(d.max_body_bytes == 16u * 1024 * 1024);
  CHECK(d.max_values == 100'000u);
  CHECK(d.max_depth == 64);
  CHECK(d.max_batch == 1000u);
}

TEST_CASE("rpc request: body size, at the limit and one byte past it") {
  request_limits l;
  l.max_body_bytes = 20;
  std::string at = R"({"method":"uptime"} )"; // 20 bytes
  REQUIRE(at.size() == 20);
  CHECK(one(at, l).method == "uptime");
  auto e = refused(at + " ", l);
  CHECK(e.code == error_code::invalid_request);
  CHECK(e.message == "Request body of 21 bytes exceeds the limit of 20");
  CHECK(http_status_of(e) == 400);
  // At the default 16 MiB: the size check passes (the document is then judged as JSON).
  std::string big = '"' + std::string(16 * 1024 * 1024 - 2, 'a') + '"';
  CHECK(refused(big).message == "Top-level object parse error");
  CHECK(refused(big + " ").message
        == "Request body of 16777217 bytes exceeds the limit of 16777216");
}

TEST_CASE("rpc request: nesting depth, at the limit and one level past it") {
  request_limits l;
  l.max_depth = 3;
  CHECK_FALSE(parse_body("[[[]]]", l).error);
  CHECK_FALSE(parse_body("[[[1,\"x\",null]]]", l).error); // scalars add no level
  CHECK_FALSE(parse_body(R"({"a":{"b":{}}})", l).error);
  for (const char* deep : {"[[[[]]]]", R"({"a":{"b":{"c":{}}}})", R"([{"a":[{}]}])"}) {
    CAPTURE(deep);
    auto e = refused(deep, l);
    CHECK(e.code == error_code::invalid_request);
    CHECK(e.message == "Request too large: nesting deeper than 3");
    CHECK(http_status_of(e) == 400);
  }
  // The default: 64 levels are a (top-level-array) batch, 65 are refused.
  CHECK_FALSE(parse_body(nested_arrays(64)).error);
  CHECK(refused(nested_arrays(65)).message == "Request too large: nesting deeper than 64");
  // Unclosed, as an attacker sends it: refused for depth, not as a parse error.
  CHECK(refused(std::string(100, '[')).message == "Request too large: nesting deeper than 64");
}

TEST_CASE("rpc request: JSON values, at the limit and one past it") {
  request_limits l;
  l.max_values = 5;
  CHECK_FALSE(parse_body("[1,2,3,4]", l).error);                 // the array and 4 numbers
  CHECK_FALSE(parse_body(R"({"a":1,"b":"x","c":[]})", l).error); // keys are not values
  auto e = refused("[1,2,3,4,5]", l);
  CHECK(e.code == error_code::invalid_request);
  CHECK(e.message == "Request too large: more than 5 JSON values");
  CHECK(refused(R"({"a":1,"b":"x","c":[null,2]})", l).message
        == "Request too large: more than 5 JSON values");
  // The default: 100,000 values (the object, the method, the params array and 99,997 numbers)
  // pass, one more is refused.
  auto call_with = [](std::size_t n) {
    return R"({"method":"x","params":)" + batch_of(n, "0") + "}";
  };
  CHECK(one(call_with(99'997)).params.size() == 99'997);
  CHECK(refused(call_with(99'998)).message == "Request too large: more than 100000 JSON values");
}

TEST_CASE("rpc request: batch size, at the limit and one past it") {
  request_limits l;
  l.max_batch = 3;
  auto at = parse_body(batch_of(3, R"({"method":"uptime"})"), l);
  CHECK_FALSE(at.error);
  CHECK(at.calls.size() == 3);
  auto e = refused(batch_of(4, R"({"method":"uptime"})"), l);
  CHECK(e.code == error_code::invalid_request);
  CHECK(e.message == "Batch of 4 requests exceeds the limit of 3");
  CHECK(http_status_of(e) == 400);
  CHECK(parse_body(batch_of(1000, "{}")).calls.size() == 1000);
  CHECK(refused(batch_of(1001, "{}")).message
        == "Batch of 1001 requests exceeds the limit of 1000");
}

TEST_CASE("rpc request: reply text is one line of JSON with invalid UTF-8 replaced") {
  call c;
  c.id = 1;
  auto text = to_text(success_reply(c, std::string{"/peer\xff/"}));
  // nlohmann::json orders the keys by name.
  CHECK(text == "{\"error\":null,\"id\":1,\"result\":\"/peer\xef\xbf\xbd/\"}\n");
  CHECK(rpc_error{error_code::type_error, "m"}.to_json() == json{{"code", -3}, {"message", "m"}});
}

TEST_SUITE_END();
