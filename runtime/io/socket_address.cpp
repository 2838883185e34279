#include "runtime/io/socket_address.hpp"

#include <cstring>
#include <netinet/in.h>

namespace qtc {

socklen_t to_sockaddr(const ip_bytes& ip, std::uint16_t port, sockaddr_storage& addr) {
  addr = sockaddr_storage{};
  if (is_ipv4(ip)) {
    auto* a = reinterpret_cast<sockaddr_in*>(&addr);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    std::memcpy(&a->sin_addr, ip.data() + 12, 4);
    return sizeof(sockaddr_in);
  }
  auto* a = reinterpret_cast<sockaddr_in6*>(&addr);
  a->sin6_family = AF_INET6;
  a->sin6_port = htons(port);
  std::memcpy(&a->sin6_addr, ip.data(), 16);
  return sizeof(sockaddr_in6);
}

/// The address in a kernel sockaddr (IPv4 mapped as ::ffff:a.b.c.d); nothing for other families.
std::optional<std::pair<ip_bytes, std::uint16_t>> from_sockaddr(const sockaddr* sa) {
  if (sa == nullptr)
    return std::nullopt;
  if (sa->sa_family == AF_INET) {
    sockaddr_in a{};
    std::memcpy(&a, sa, sizeof(a));
    const auto* b = reinterpret_cast<const std::uint8_t*>(&a.sin_addr);
    return std::pair{ipv4(b[0], b[1], b[2], b[3]), ntohs(a.sin_port)};
  }
  if (sa->sa_family == AF_INET6) {
    sockaddr_in6 a{};
    std::memcpy(&a, sa, sizeof(a));
    ip_bytes ip{};
    std::memcpy(ip.data(), &a.sin6_addr, 16);
    return std::pair{ip, ntohs(a.sin6_port)};
  }
  return std::nullopt;
}

} // namespace qtc
