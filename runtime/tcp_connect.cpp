#include "runtime/tcp_connect.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace qtc {

std::variant<int, std::string> start_tcp_connect(const ip_bytes& ip, std::uint16_t port) {
  sockaddr_storage addr{};
  socklen_t len = 0;
  int family = 0;
  if (is_ipv4(ip)) {
    auto* a = reinterpret_cast<sockaddr_in*>(&addr);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    std::memcpy(&a->sin_addr, ip.data() + 12, 4);
    len = sizeof(sockaddr_in);
    family = AF_INET;
  } else {
    auto* a = reinterpret_cast<sockaddr_in6*>(&addr);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    std::memcpy(&a->sin6_addr, ip.data(), 16);
    len = sizeof(sockaddr_in6);
    family = AF_INET6;
  }
  int fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return std::string{"socket: "} + std::strerror(errno);
  int one = 1;
  // P2P messages are small and latency matters (pings, headers); Nagle only delays them.
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 && errno != EINPROGRESS) {
    std::string why = std::string{"connect: "} + std::strerror(errno);
    ::close(fd);
    return why;
  }
  return fd;
}

} // namespace qtc
