#include "runtime/net/subnet.hpp"

#include <algorithm>
#include <charconv>

namespace qtc {

ip_bytes masked(const ip_bytes& ip, unsigned prefix_len) {
  ip_bytes out = ip;
  for (unsigned i = 0; i < 16; ++i) {
    unsigned bits = std::min(8u, prefix_len > 8 * i ? prefix_len - 8 * i : 0u);
    out[i] &= static_cast<std::uint8_t>(0xff00u >> bits);
  }
  return out;
}

subnet subnet::of(const ip_bytes& ip, std::uint8_t prefix_len) {
  auto len = std::min<std::uint8_t>(prefix_len, 128);
  return subnet{masked(ip, len), len};
}

subnet subnet::host(const ip_bytes& ip) {
  return subnet{ip, 128};
}

std::optional<subnet> subnet::parse(std::string_view text) {
  auto slash = text.find('/');
  auto address = text.substr(0, slash);
  auto ip = parse_ip(address);
  if (!ip)
    return std::nullopt;
  // The family is the notation's: ::ffff:1.2.3.0/120 is IPv6 notation with an IPv6 length.
  bool v6 = address.find(':') != std::string_view::npos;
  unsigned max = v6 ? 128 : 32;
  unsigned len = max;
  if (slash != std::string_view::npos) {
    auto digits = text.substr(slash + 1);
    if (digits.empty() || digits.size() > 3)
      return std::nullopt;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), len);
    if (ec != std::errc{} || end != digits.data() + digits.size() || len > max)
      return std::nullopt;
  }
  return of(*ip, static_cast<std::uint8_t>(v6 ? len : 96 + len));
}

std::string subnet::format() const {
  auto text = format_ip(base);
  if (is_host())
    return text;
  bool v4 = prefix_len >= 96 && is_ipv4(base);
  return text + "/" + std::to_string(v4 ? prefix_len - 96 : prefix_len);
}

bool subnet::contains(const ip_bytes& ip) const {
  return masked(ip, prefix_len) == base;
}

subnet subnet_of(const ip_bytes& ip, std::uint8_t prefix_v4, std::uint8_t prefix_v6) {
  if (is_ipv4(ip))
    return subnet::of(ip, static_cast<std::uint8_t>(96 + std::min<std::uint8_t>(prefix_v4, 32)));
  return subnet::of(ip, prefix_v6);
}

} // namespace qtc
