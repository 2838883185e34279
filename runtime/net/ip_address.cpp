#include "runtime/net/ip_address.hpp"

#include <arpa/inet.h>
#include <cstring>

namespace qtc {

namespace {

bool prefix_is(const ip_bytes& ip, std::initializer_list<std::uint8_t> prefix) {
  std::size_t i = 0;
  for (auto b : prefix)
    if (ip[i++] != b)
      return false;
  return true;
}

} // namespace

std::optional<ip_bytes> parse_ip(std::string_view text) {
  if (text.empty() || text.size() > 45)
    return std::nullopt;
  std::string s{text};
  ip_bytes out{};
  in_addr v4{};
  if (::inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    out[10] = out[11] = 0xff;
    std::memcpy(out.data() + 12, &v4, 4);
    return out;
  }
  in6_addr v6{};
  if (::inet_pton(AF_INET6, s.c_str(), &v6) == 1) {
    std::memcpy(out.data(), &v6, 16);
    return out;
  }
  return std::nullopt;
}

ip_bytes ipv4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
  ip_bytes out{};
  out[10] = out[11] = 0xff;
  out[12] = a;
  out[13] = b;
  out[14] = c;
  out[15] = d;
  return out;
}

bool is_ipv4(const ip_bytes& ip) {
  return prefix_is(ip, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff});
}

std::string format_ip(const ip_bytes& ip) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (is_ipv4(ip))
    ::inet_ntop(AF_INET, ip.data() + 12, buf, sizeof(buf));
  else
    ::inet_ntop(AF_INET6, ip.data(), buf, sizeof(buf));
  return buf;
}

std::string format_endpoint(const ip_bytes& ip, std::uint16_t port) {
  if (is_ipv4(ip))
    return format_ip(ip) + ":" + std::to_string(port);
  return "[" + format_ip(ip) + "]:" + std::to_string(port);
}

std::string endpoint_host(std::string_view endpoint) {
  auto host = endpoint.substr(0, endpoint.rfind(':'));
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  return std::string{host};
}

std::string to_string(ip_class x) {
  switch (x) {
  case ip_class::routable:
    return "routable";
  case ip_class::unspecified:
    return "unspecified";
  case ip_class::loopback:
    return "loopback";
  case ip_class::private_net:
    return "private";
  case ip_class::link_local:
    return "link-local";
  case ip_class::multicast:
    return "multicast";
  case ip_class::broadcast:
    return "broadcast";
  case ip_class::documentation:
    return "documentation";
  case ip_class::reserved:
    return "reserved";
  }
  return "unknown";
}

ip_class classify(const ip_bytes& ip) {
  if (is_ipv4(ip)) {
    auto a = ip[12], b = ip[13], c = ip[14];
    if (a == 0)
      return ip_class::unspecified;
    if (a == 127)
      return ip_class::loopback;
    if (a == 10 || (a == 172 && (b & 0xf0) == 16) || (a == 192 && b == 168)
        || (a == 100 && (b & 0xc0) == 64))
      return ip_class::private_net;
    if (a == 169 && b == 254)
      return ip_class::link_local;
    if ((a & 0xf0) == 224)
      return ip_class::multicast;
    if ((a & 0xf0) == 240)
      return ip_class::broadcast;
    if ((a == 192 && b == 0 && c == 2) || (a == 198 && b == 51 && c == 100)
        || (a == 203 && b == 0 && c == 113))
      return ip_class::documentation;
    return ip_class::routable;
  }
  static constexpr ip_bytes zero{};
  if (ip == zero)
    return ip_class::unspecified;
  ip_bytes one{};
  one[15] = 1;
  if (ip == one)
    return ip_class::loopback;
  if (ip[0] == 0xff)
    return ip_class::multicast;
  if ((ip[0] & 0xfe) == 0xfc)
    return ip_class::private_net;
  if (ip[0] == 0xfe && (ip[1] & 0xc0) == 0x80)
    return ip_class::link_local;
  if (prefix_is(ip, {0x20, 0x01, 0x0d, 0xb8}))
    return ip_class::documentation;
  // ::/96 (IPv4-compatible, deprecated), 100::/64 (discard-only), and the rest of ::/8.
  if (ip[0] == 0 || prefix_is(ip, {0x01, 0, 0, 0, 0, 0, 0, 0}))
    return ip_class::reserved;
  return ip_class::routable;
}

bool usable_peer_address(const ip_bytes& ip, bool allow_private) {
  switch (classify(ip)) {
  case ip_class::routable:
    return true;
  case ip_class::loopback:
  case ip_class::private_net:
  case ip_class::link_local:
    return allow_private;
  default:
    return false;
  }
}

std::vector<std::uint8_t> network_group(const ip_bytes& ip, bool allow_private) {
  auto cls = classify(ip);
  if (cls != ip_class::routable) {
    if (!allow_private)
      return {0xff}; // every unroutable address: one group
    std::vector<std::uint8_t> g{is_ipv4(ip) ? std::uint8_t{0xfe} : std::uint8_t{0xfd}};
    g.insert(g.end(), ip.begin(), ip.end());
    return g;
  }
  if (is_ipv4(ip))
    return {4, ip[12], ip[13]};
  return {6, ip[0], ip[1], ip[2], ip[3]};
}

} // namespace qtc
