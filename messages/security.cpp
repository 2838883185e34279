#include "messages/security.hpp"

namespace qtc {

namespace {

constexpr std::array<std::string_view, offence_count> offence_names{
    "bad-checksum",    "malformed-message",  "oversized-message",
    "unknown-message", "protocol-violation", "handshake-failure",
    "slow-handshake",  "silent-peer",        "connection-churn",
    "rate-exceeded",   "ping-flood",         "addr-flood",
    "inv-flood",       "getdata-flood",      "getdata-amplification",
    "header-spam",     "invalid-header",     "invalid-block",
    "relay-violation", "shared-identity",
};

} // namespace

std::string to_string(offence x) {
  auto i = static_cast<std::size_t>(x);
  return i < offence_names.size() ? std::string{offence_names[i]} : "unknown";
}

std::optional<offence> parse_offence(std::string_view text) {
  for (std::size_t i = 0; i < offence_names.size(); ++i)
    if (offence_names[i] == text)
      return static_cast<offence>(i);
  return std::nullopt;
}

std::string to_string(verdict x) {
  switch (x) {
  case verdict::none:
    return "none";
  case verdict::warn:
    return "warn";
  case verdict::throttle:
    return "throttle";
  case verdict::discourage:
    return "discourage";
  case verdict::ban:
    return "ban";
  case verdict::ban_forever:
    return "ban-forever";
  }
  return "unknown";
}

} // namespace qtc
