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
    "relay-violation", "shared-identity",    "bad-quantumproof",
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

std::string to_string(admission x) {
  switch (x) {
  case admission::accept:
    return "accept";
  case admission::accept_discouraged:
    return "accept-discouraged";
  case admission::refuse_banned:
    return "refuse-banned";
  case admission::refuse_per_ip:
    return "refuse-per-ip";
  case admission::refuse_per_subnet:
    return "refuse-per-subnet";
  case admission::refuse_starting:
    return "refuse-starting";
  }
  return "unknown";
}

std::string refusal_reason(admission x) {
  switch (x) {
  case admission::accept:
  case admission::accept_discouraged:
    return {};
  case admission::refuse_banned:
    return "banned";
  case admission::refuse_per_ip:
    return "too many connections from this address";
  case admission::refuse_per_subnet:
    return "too many connections from this subnet";
  case admission::refuse_starting:
    return "starting up";
  }
  return "unknown";
}

} // namespace qtc
