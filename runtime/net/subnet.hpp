// An address range (an address, or a subnet such as 192.0.2.0/24 or 2001:db8::/32), in the one
// 16-byte form every address of the node has, and the "subnet of an address" that per-subnet
// limits, subnet bans and attack detectors group addresses by.
#pragma once

#include "runtime/net/ip_address.hpp"

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace qtc {

/// A range of addresses: `base` with its first `prefix_len` bits significant.
///
/// Lengths count bits of the 16-byte form, so an IPv4 a.b.c.0/24 is stored as
/// ::ffff:a.b.c.0/120 (96 + 24): one representation, and an IPv4 subnet never covers an IPv6
/// address (an IPv6 one shorter than /96, ::/0 say, does cover IPv4 addresses). parse() and
/// format() speak the usual notation of each family.
struct subnet {
  ip_bytes base{};               ///< host bits are always zero
  std::uint8_t prefix_len = 128; ///< 0..128 over the 16-byte form

  /// `ip`/`prefix_len` (16-byte form, clamped to 128) with the host bits cleared.
  static subnet of(const ip_bytes& ip, std::uint8_t prefix_len);
  /// The single address `ip`.
  static subnet host(const ip_bytes& ip);

  /// "1.2.3.0/24", "1.2.3.4", "2001:db8::/32", "::1". The prefix is decimal, at most 32 for
  /// IPv4 and 128 for IPv6; host bits in the text are cleared (1.2.3.4/24 is 1.2.3.0/24, as
  /// Core reads it). Nothing for anything else.
  static std::optional<subnet> parse(std::string_view text);

  /// The address alone for a single host, else "base/len" in the base's family.
  std::string format() const;

  bool contains(const ip_bytes& ip) const;
  bool is_host() const {
    return prefix_len == 128;
  }

  friend auto operator<=>(const subnet&, const subnet&) = default;
};

/// The subnet `ip` belongs to when IPv4 addresses are grouped by /`prefix_v4` (at most 32) and
/// IPv6 addresses by /`prefix_v6` (at most 128).
subnet subnet_of(const ip_bytes& ip, std::uint8_t prefix_v4, std::uint8_t prefix_v6);

/// `ip` with all but its first `prefix_len` bits (of the 16-byte form, at most 128) cleared.
ip_bytes masked(const ip_bytes& ip, unsigned prefix_len);

} // namespace qtc
