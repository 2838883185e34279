#include "runtime/io/udp_port.hpp"

#include "runtime/io/socket_address.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <net/route.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <utility>

#include <ifaddrs.h>
#include <unistd.h>

namespace qtc {

namespace {

/// Closes a descriptor on every path out of a function.
struct fd_guard {
  int fd = -1;
  explicit fd_guard(int f) : fd(f) {}
  fd_guard(const fd_guard&) = delete;
  fd_guard& operator=(const fd_guard&) = delete;
  ~fd_guard() {
    if (fd >= 0)
      ::close(fd);
  }
  int release() {
    return std::exchange(fd, -1);
  }
};

std::string errno_text(const char* what) {
  return std::string{what} + ": " + std::strerror(errno);
}

int family_of(const ip_bytes& ip) {
  return is_ipv4(ip) ? AF_INET : AF_INET6;
}

bool is_unspecified(const ip_bytes& ip) {
  return classify(ip) == ip_class::unspecified;
}

class socket_udp_port final : public udp_port {
public:
  socket_udp_port(int fd, int family) : fd_(fd), family_(family) {}
  socket_udp_port(const socket_udp_port&) = delete;
  socket_udp_port& operator=(const socket_udp_port&) = delete;
  ~socket_udp_port() override {
    ::close(fd_);
  }

  bool send(const ip_bytes& ip, std::uint16_t port, std::span<const std::uint8_t> payload,
            std::string& error) override;
  std::vector<datagram> poll() override;
  std::optional<std::pair<ip_bytes, std::uint16_t>> local_endpoint() const override;

private:
  int fd_;
  int family_;
};

bool socket_udp_port::send(const ip_bytes& ip, std::uint16_t port,
                           std::span<const std::uint8_t> payload, std::string& error) {
  // The socket is single-family on purpose (IPv6 sockets are IPv6-only): a mapping learned over
  // IPv4 says nothing about IPv6, so a caller that mixes them has a bug worth reporting.
  if (family_of(ip) != family_) {
    error = "cannot send to " + format_ip(ip) + " from an " + (family_ == AF_INET ? "IPv4" : "IPv6")
            + " socket";
    return false;
  }
  sockaddr_storage addr{};
  auto len = to_sockaddr(ip, port, addr);
  auto n = ::sendto(fd_, payload.data(), payload.size(), MSG_DONTWAIT,
                    reinterpret_cast<const sockaddr*>(&addr), len);
  if (n < 0) {
    error = errno_text(("sendto " + format_endpoint(ip, port)).c_str());
    return false;
  }
  return true;
}

std::vector<datagram> socket_udp_port::poll() {
  std::vector<datagram> out;
  // One byte more than the limit is not needed: MSG_TRUNC makes recvfrom return the datagram's
  // real length, so an oversize one is recognised (and dropped) without reading all of it.
  std::array<std::uint8_t, udp_max_datagram_bytes> buf{};
  // Every receive counts toward the bound, dropped or not, so that a flood of oversize
  // datagrams cannot keep one poll busy either.
  for (std::size_t i = 0; i < udp_poll_max_datagrams; ++i) {
    sockaddr_storage from{};
    socklen_t from_len = sizeof(from);
    auto n = ::recvfrom(fd_, buf.data(), buf.size(), MSG_DONTWAIT | MSG_TRUNC,
                        reinterpret_cast<sockaddr*>(&from), &from_len);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      break; // EAGAIN: nothing more now; anything else: try again on the next poll
    }
    if (static_cast<std::size_t>(n) > buf.size())
      continue;
    auto sender = from_sockaddr(reinterpret_cast<const sockaddr*>(&from));
    if (!sender)
      continue;
    datagram d;
    d.from_ip = sender->first;
    d.from_port = sender->second;
    d.payload.assign(buf.begin(), buf.begin() + n);
    out.push_back(std::move(d));
  }
  return out;
}

std::optional<std::pair<ip_bytes, std::uint16_t>> socket_udp_port::local_endpoint() const {
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    return std::nullopt;
  return from_sockaddr(reinterpret_cast<const sockaddr*>(&addr));
}

} // namespace

std::unique_ptr<udp_port> open_udp_port(const ip_bytes& bind_ip, std::uint16_t bind_port,
                                        std::string& error) {
  int family = family_of(bind_ip);
  fd_guard fd{::socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)};
  if (fd.fd < 0) {
    error = errno_text("socket");
    return nullptr;
  }
  if (family == AF_INET6) {
    int one = 1;
    // Without this, a socket bound to :: would also receive IPv4 (as ::ffff:a.b.c.d) and blur
    // which family a STUN or PCP answer speaks for.
    if (::setsockopt(fd.fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0) {
      error = errno_text("setsockopt IPV6_V6ONLY");
      return nullptr;
    }
  }
  sockaddr_storage addr{};
  auto len = to_sockaddr(bind_ip, bind_port, addr);
  if (::bind(fd.fd, reinterpret_cast<const sockaddr*>(&addr), len) != 0) {
    error = errno_text(("bind " + format_endpoint(bind_ip, bind_port)).c_str());
    return nullptr;
  }
  return std::make_unique<socket_udp_port>(fd.release(), family);
}

std::optional<ip_bytes> local_address_toward(const ip_bytes& dest) {
  fd_guard fd{::socket(family_of(dest), SOCK_DGRAM | SOCK_CLOEXEC, 0)};
  if (fd.fd < 0)
    return std::nullopt;
  // Connecting a UDP socket only asks the routing table for a source address; no packet
  // leaves. The port is arbitrary (PCP's, 5351) but must be non-zero to be a valid peer.
  sockaddr_storage addr{};
  auto len = to_sockaddr(dest, 5351, addr);
  if (::connect(fd.fd, reinterpret_cast<const sockaddr*>(&addr), len) != 0)
    return std::nullopt;
  sockaddr_storage local{};
  socklen_t local_len = sizeof(local);
  if (::getsockname(fd.fd, reinterpret_cast<sockaddr*>(&local), &local_len) != 0)
    return std::nullopt;
  auto ep = from_sockaddr(reinterpret_cast<const sockaddr*>(&local));
  if (!ep || is_unspecified(ep->first))
    return std::nullopt;
  return ep->first;
}

// -- /proc/net/route ----------------------------------------------------------------------------

namespace {

struct route_line {
  std::uint32_t destination = 0;
  std::uint32_t gateway = 0;
  std::uint32_t flags = 0;
  std::uint32_t metric = 0;
  std::uint32_t mask = 0;
};

/// The next whitespace-separated field of `line` from `pos`, or an empty view at the end.
std::string_view next_field(std::string_view line, std::size_t& pos) {
  while (pos < line.size() && (line[pos] == ' ' || line[pos] == '\t'))
    ++pos;
  auto start = pos;
  while (pos < line.size() && line[pos] != ' ' && line[pos] != '\t')
    ++pos;
  return line.substr(start, pos - start);
}

std::optional<std::uint32_t> parse_u32(std::string_view text, int base) {
  std::uint32_t value = 0;
  if (text.empty())
    return std::nullopt;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  if (ec != std::errc{} || end != text.data() + text.size())
    return std::nullopt;
  return value;
}

/// Iface Destination Gateway Flags RefCnt Use Metric Mask ...: hex fields except the counts and
/// the metric. Nothing for the header and for lines that do not have this shape.
std::optional<route_line> parse_route_line(std::string_view line) {
  std::array<std::string_view, 8> f{};
  std::size_t pos = 0;
  for (auto& field : f) {
    field = next_field(line, pos);
    if (field.empty())
      return std::nullopt;
  }
  auto destination = parse_u32(f[1], 16);
  auto gateway = parse_u32(f[2], 16);
  auto flags = parse_u32(f[3], 16);
  auto metric = parse_u32(f[6], 10);
  auto mask = parse_u32(f[7], 16);
  if (!destination || !gateway || !flags || !metric || !mask)
    return std::nullopt;
  return route_line{*destination, *gateway, *flags, *metric, *mask};
}

/// The kernel prints a network-order address as a host integer ("%08X" of a __be32); reading
/// it back into a host integer restores the original bytes in memory.
ip_bytes ipv4_from_route_field(std::uint32_t value) {
  std::array<std::uint8_t, 4> b{};
  std::memcpy(b.data(), &value, 4);
  return ipv4(b[0], b[1], b[2], b[3]);
}

} // namespace

std::optional<ip_bytes> parse_proc_net_route(std::string_view text) {
  std::optional<route_line> best;
  while (!text.empty()) {
    auto eol = text.find('\n');
    auto line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
    auto r = parse_route_line(line);
    if (!r || r->destination != 0 || r->mask != 0 || r->gateway == 0)
      continue;
    if ((r->flags & RTF_UP) == 0 || (r->flags & RTF_GATEWAY) == 0)
      continue;
    if (!best || r->metric < best->metric)
      best = r;
  }
  if (!best)
    return std::nullopt;
  return ipv4_from_route_field(best->gateway);
}

std::optional<ip_bytes> default_gateway_v4() {
  // Each line is 128 bytes; a host with thousands of routes still fits. Reading stops here so
  // that a router-sized table cannot make this call slow or large.
  constexpr std::size_t max_bytes = 1 << 20;
  std::FILE* f = std::fopen("/proc/net/route", "re");
  if (f == nullptr)
    return std::nullopt;
  std::string text;
  std::array<char, 4096> chunk{};
  while (text.size() < max_bytes) {
    auto n = std::fread(chunk.data(), 1, chunk.size(), f);
    if (n == 0)
      break;
    text.append(chunk.data(), n);
  }
  std::fclose(f);
  return parse_proc_net_route(text);
}

std::vector<ip_bytes> local_interface_addresses() {
  std::vector<ip_bytes> out;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0)
    return out;
  for (auto* ifa = list; ifa != nullptr; ifa = ifa->ifa_next) {
    auto ep = from_sockaddr(ifa->ifa_addr);
    if (!ep)
      continue;
    if (std::find(out.begin(), out.end(), ep->first) == out.end())
      out.push_back(ep->first);
  }
  ::freeifaddrs(list);
  return out;
}

} // namespace qtc
