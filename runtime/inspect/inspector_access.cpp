#include "runtime/inspect/inspector_access.hpp"

#include "messages/primitives/hex.hpp"

#include <botan/mem_ops.h>
#include <botan/system_rng.h>

#include <array>
#include <cstdint>
#include <span>

namespace qtc {

inspector_access::inspector_access(std::string cookie, bool loopback)
    : cookie_(std::move(cookie)), loopback_(loopback) {}

bool inspector_access::allows(inspector_request kind, std::string_view given) const {
  if (kind == inspector_request::read && loopback_)
    return true;
  // An empty cookie never matches (a node that could not write one accepts no action).
  if (cookie_.empty() || given.size() != cookie_.size())
    return false;
  auto bytes = [](std::string_view s) {
    return std::span<const std::uint8_t>{reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
  };
  return Botan::constant_time_compare(bytes(given), bytes(cookie_));
}

bool is_loopback_host(std::string_view host) {
  return host == "localhost" || host == "::1" || host == "[::1]" || host.rfind("127.", 0) == 0;
}

std::string make_inspector_cookie() {
  std::array<std::uint8_t, 32> random{};
  Botan::System_RNG().randomize(random.data(), random.size());
  return to_hex(random);
}

} // namespace qtc
