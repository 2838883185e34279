#include "runtime/io/tcp_connect.hpp"

#include "runtime/io/socket_address.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <fcntl.h>
#include <unistd.h>

namespace qtc {

std::variant<int, std::string> start_tcp_connect(const ip_bytes& ip, std::uint16_t port,
                                                 const std::optional<ip_bytes>& local) {
  sockaddr_storage addr{};
  auto len = to_sockaddr(ip, port, addr);
  int fd = ::socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return std::string{"socket: "} + std::strerror(errno);
  if (local && is_ipv4(*local) == is_ipv4(ip)) {
    sockaddr_storage from{};
    auto from_len = to_sockaddr(*local, 0, from);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&from), from_len) != 0) {
      std::string why = "bind " + format_ip(*local) + ": " + std::strerror(errno);
      ::close(fd);
      return why;
    }
  }
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
