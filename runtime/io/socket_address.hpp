// Conversions between the node's addresses (16 bytes, IPv4 as ::ffff:a.b.c.d) and the kernel's
// socket addresses, for the adapters that open sockets (TCP connect, UDP ports).
#pragma once

#include "runtime/net/ip_address.hpp"

#include <cstdint>
#include <optional>
#include <sys/socket.h>
#include <utility>

namespace qtc {

/// Fills `addr` (sockaddr_in for an IPv4-mapped address, sockaddr_in6 otherwise); its length.
socklen_t to_sockaddr(const ip_bytes& ip, std::uint16_t port, sockaddr_storage& addr);

/// The address and port in a kernel sockaddr (IPv4 mapped); nothing for other families.
std::optional<std::pair<ip_bytes, std::uint16_t>> from_sockaddr(const sockaddr* sa);

} // namespace qtc
