// The operator's allowlist: subnets whose peers get permissions (Bitcoin Core's -whitelist).
//
// An entry is `[permission+permission@]subnet`, e.g. `192.0.2.7`, `noban@10.0.0.0/8`,
// `noban+download@2001:db8::/32`. Permissions (messages/security.hpp, peer_permissions):
//   noban     never banned, discouraged or rate limited; admitted past the per-address and
//             per-subnet inbound limits and never evicted; its offences are only logged;
//   relay     its transactions are relayed even when relay would refuse them;
//   download  may download past upload limits.
// An entry without permissions grants all three (what an operator means by "my own nodes").
// A peer covered by several entries gets the union.
#pragma once

#include "messages/security.hpp"
#include "runtime/net/subnet.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace qtc {

struct allow_entry {
  subnet net;
  peer_permissions permissions;
  friend bool operator==(const allow_entry&, const allow_entry&) = default;
};

/// Parses one entry; nothing, with `error` saying what is wrong, if it is not one.
std::optional<allow_entry> parse_allow_entry(std::string_view text, std::string& error);

/// The union of the permissions of the entries that contain `ip`.
peer_permissions permissions_of(const std::vector<allow_entry>& list, const ip_bytes& ip);

} // namespace qtc
