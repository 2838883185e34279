#include "runtime/io/tcp_probe.hpp"

// linux/tcp.h (not netinet/tcp.h) has tcpi_bytes_acked; the two cannot be included together.
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/socket.h>

namespace qtc {

bool tcp_was_established(int fd) {
  tcp_info info{};
  socklen_t len = sizeof(info);
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0)
    return false;
  return info.tcpi_bytes_acked > 0 || info.tcpi_state == 1 /* TCP_ESTABLISHED */;
}

} // namespace qtc
