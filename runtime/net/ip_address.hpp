// IP addresses as the P2P protocol carries them (16 bytes, IPv4 as ::ffff:a.b.c.d): parsing,
// printing, classification and network groups.
//
// Classification decides which addresses discovery accepts and relays (no unspecified,
// multicast, broadcast or documentation addresses ever; loopback and private ranges only on a
// network whose chain spec allows them, as regtest does). Network groups decide diversity:
// outbound peers come from distinct groups and the address manager buckets by group, so that
// an attacker holding many addresses in few groups cannot fill the tables.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace qtc {

/// IPv6 bytes, or an IPv4 address mapped as ::ffff:a.b.c.d.
using ip_bytes = std::array<std::uint8_t, 16>;

/// Parses an IPv4 dotted quad or an IPv6 literal (no brackets, no zone).
std::optional<ip_bytes> parse_ip(std::string_view text);

/// The IPv4 mapping of a.b.c.d.
ip_bytes ipv4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d);

/// True for ::ffff:a.b.c.d.
bool is_ipv4(const ip_bytes& ip);

/// Dotted quad for IPv4, RFC 5952 text for IPv6.
std::string format_ip(const ip_bytes& ip);

/// "a.b.c.d:port" or "[v6]:port".
std::string format_endpoint(const ip_bytes& ip, std::uint16_t port);

/// The host of an endpoint as format_endpoint writes it: "a.b.c.d" of "a.b.c.d:port", "v6" of
/// "[v6]:port" (brackets stripped). Text without a colon is returned as it is.
std::string endpoint_host(std::string_view endpoint);

/// What kind of address this is, for the acceptance rules.
enum class ip_class : std::uint8_t {
  routable,      ///< a public unicast address
  unspecified,   ///< 0.0.0.0/8, ::
  loopback,      ///< 127.0.0.0/8, ::1
  private_net,   ///< RFC 1918, 100.64/10 (CGNAT), fc00::/7 (ULA)
  link_local,    ///< 169.254/16, fe80::/10
  multicast,     ///< 224/4, ff00::/8
  broadcast,     ///< 255.255.255.255 and the rest of 240/4 (reserved)
  documentation, ///< 192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32
  reserved,      ///< other special-purpose IPv6 (e.g. IPv4-compatible ::a.b.c.d, 100::/64)
};

std::string to_string(ip_class x);

ip_class classify(const ip_bytes& ip);

/// Whether a peer at `ip` may be used: routable always; loopback, private and link-local only
/// when `allow_private` (the chain spec's allow_private_addresses); the rest never.
bool usable_peer_address(const ip_bytes& ip, bool allow_private);

/// The diversity group: IPv4 /16 and IPv6 /32 (Bitcoin Core's), prefixed by the address family.
/// On networks that allow private addresses, non-routable addresses each form their own group
/// (a regtest network on 127.0.0.x is many hosts, not one subnet); otherwise all non-routable
/// addresses share a single group.
std::vector<std::uint8_t> network_group(const ip_bytes& ip, bool allow_private);

} // namespace qtc
