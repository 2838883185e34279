// A UDP socket behind an interface, for the NAT mapper's STUN and PCP/NAT-PMP exchanges, and the
// few facts about this host those protocols need: the default gateway (where PCP and NAT-PMP
// requests go), the source address toward a server (PCP puts it in the request) and our own
// interface addresses (a mapped address that is one of ours means there is no NAT).
//
// The NAT mapper lives in an actor that must never wait on the network: it sends a request and
// polls for answers on its own timer, so the real socket is non-blocking and a poll is bounded.
// The simulator replaces udp_port with its virtual network, which is why this is an interface.
#pragma once

#include "messages/primitives/byte_io.hpp"
#include "runtime/net/ip_address.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace qtc {

/// One poll returns at most this many datagrams; the rest wait for the next poll.
inline constexpr std::size_t udp_poll_max_datagrams = 64;
/// Larger datagrams are dropped, not truncated: STUN and PCP answers are far smaller, and a
/// truncated message could be misread as a shorter valid one.
inline constexpr std::size_t udp_max_datagram_bytes = 2048;

struct datagram {
  ip_bytes from_ip{};
  std::uint16_t from_port = 0;
  bytes payload;
};

/// A UDP socket behind an interface: the NAT mapper sends and polls; it never waits. The
/// simulator replaces it.
class udp_port {
public:
  virtual ~udp_port() = default;
  /// Sends one datagram without waiting; false + error if the kernel would not take it now.
  virtual bool send(const ip_bytes& ip, std::uint16_t port, std::span<const std::uint8_t> payload,
                    std::string& error) = 0;
  /// What arrived since the last poll (never blocks; bounded: at most udp_poll_max_datagrams
  /// datagrams of at most udp_max_datagram_bytes bytes each per call).
  virtual std::vector<datagram> poll() = 0;
  virtual std::optional<std::pair<ip_bytes, std::uint16_t>> local_endpoint() const = 0;
};

/// A real non-blocking UDP socket, IPv4 if `bind_ip` is IPv4 (::ffff:a.b.c.d) and IPv6-only
/// otherwise, bound to `bind_ip:bind_port` (port 0: the kernel's choice). It sends only to
/// addresses of its own family. nullptr + error on failure.
std::unique_ptr<udp_port> open_udp_port(const ip_bytes& bind_ip, std::uint16_t bind_port,
                                        std::string& error);

/// The local address the kernel would use to reach `dest` (UDP connect + getsockname on a
/// throwaway socket; sends nothing). PCP needs it: the client address in a request must be the
/// packet's source.
std::optional<ip_bytes> local_address_toward(const ip_bytes& dest);

/// The IPv4 default gateway from /proc/net/route (bounded read), or nothing.
std::optional<ip_bytes> default_gateway_v4();

/// The default gateway in the text of /proc/net/route: among the lines for 0.0.0.0/0 that are
/// up and have a gateway, the one with the lowest metric (the route the kernel uses; the first
/// such line on a tie). Malformed lines are skipped. The kernel prints each address as the
/// host-order integer of its network-order bytes, so the text is only meaningful on the host
/// that produced it.
std::optional<ip_bytes> parse_proc_net_route(std::string_view text);

/// The addresses of this host's interfaces (getifaddrs), to tell "no NAT" (the mapped address
/// is one of ours).
std::vector<ip_bytes> local_interface_addresses();

} // namespace qtc
