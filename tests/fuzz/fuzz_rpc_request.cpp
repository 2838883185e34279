// Fuzz target: arbitrary bytes as the body of a JSON-RPC request from an authenticated client.
// Invariants: no crash or exception; a body is one call, a batch of at most max_batch calls, or
// an error with bitcoind's parse or invalid-request code; a valid call's params are an array or
// an object; every reply it gets is JSON text that parses back with the call's id; a body
// accepted under tight limits is accepted the same way under the default ones.
#include "runtime/rpc/json_rpc.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace {

using namespace qtc::rpc;

void require(bool ok) {
  if (!ok)
    std::abort();
}

/// Every reply the body would get parses back as JSON with the id the call carried.
void check_replies(const parsed_body& b) {
  if (b.error) {
    require(b.error->code == error_code::parse_error
            || b.error->code == error_code::invalid_request);
    auto text = to_text(body_error_reply(*b.error));
    require(nlohmann::json::accept(text));
    return;
  }
  for (const auto& c : b.calls) {
    if (!c.error)
      require(c.params.is_array() || c.params.is_object());
    else
      require(c.error->code == error_code::invalid_request);
    auto reply = c.error ? error_reply(c, *c.error) : success_reply(c, c.params);
    auto again = nlohmann::json::parse(to_text(reply), nullptr, false);
    require(!again.is_discarded() && again.contains("id"));
    // The parser takes only valid UTF-8 and finite numbers, so the id comes back exactly.
    require(again["id"] == c.id);
    auto status = http_status_of(c, c.error ? *c.error : rpc_error{error_code::misc_error, ""});
    require(status == 200 || status == 400 || status == 500);
  }
}

void check_shape(const parsed_body& b, const request_limits& limits) {
  if (b.error) {
    require(b.calls.empty());
    return;
  }
  if (b.batch)
    require(b.calls.size() <= limits.max_batch);
  else
    require(b.calls.size() == 1);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view body{reinterpret_cast<const char*>(data), size};
  const request_limits tight{
      .max_body_bytes = 4096, .max_values = 64, .max_depth = 4, .max_batch = 4};
  const request_limits usual{};
  auto small = parse_body(body, tight);
  auto large = parse_body(body, usual);
  check_shape(small, tight);
  check_shape(large, usual);
  check_replies(small);
  check_replies(large);
  if (!small.error) {
    // Limits only refuse: what fits the tight ones is the same request under the usual ones.
    require(!large.error && large.batch == small.batch && large.calls.size() == small.calls.size());
    for (std::size_t i = 0; i < small.calls.size(); ++i)
      require(large.calls[i].method == small.calls[i].method
              && large.calls[i].params == small.calls[i].params
              && large.calls[i].id == small.calls[i].id
              && large.calls[i].error.has_value() == small.calls[i].error.has_value());
  }
  return 0;
}
