#include "runtime/net/allowlist.hpp"

namespace qtc {

namespace {

/// Adds the permission named `name` to `p`; false if there is no such permission.
bool grant(peer_permissions& p, std::string_view name) {
  if (name == "noban")
    p.noban = true;
  else if (name == "relay")
    p.relay = true;
  else if (name == "download")
    p.download = true;
  else
    return false;
  return true;
}

} // namespace

std::optional<allow_entry> parse_allow_entry(std::string_view text, std::string& error) {
  allow_entry out;
  auto at = text.find('@');
  auto where = at == std::string_view::npos ? text : text.substr(at + 1);
  if (at == std::string_view::npos) {
    out.permissions = {true, true, true};
  } else {
    auto names = text.substr(0, at);
    for (std::size_t from = 0; from <= names.size();) {
      auto plus = names.find('+', from);
      auto name = names.substr(from, plus == std::string_view::npos ? names.npos : plus - from);
      if (name.empty() && names.empty())
        break; // "@subnet": reported below
      if (!grant(out.permissions, name)) {
        error = "unknown permission \"" + std::string{name} + "\" (noban, relay, download)";
        return std::nullopt;
      }
      if (plus == std::string_view::npos)
        break;
      from = plus + 1;
    }
    if (out.permissions == peer_permissions{}) {
      error = "no permission before '@'";
      return std::nullopt;
    }
  }
  auto net = subnet::parse(where);
  if (!net) {
    error = "\"" + std::string{where} + "\" is not an address or subnet (e.g. 192.0.2.7, "
            + "10.0.0.0/8, 2001:db8::/32)";
    return std::nullopt;
  }
  out.net = *net;
  return out;
}

peer_permissions permissions_of(const std::vector<allow_entry>& list, const ip_bytes& ip) {
  peer_permissions p;
  for (const auto& e : list)
    if (e.net.contains(ip)) {
      p.noban |= e.permissions.noban;
      p.relay |= e.permissions.relay;
      p.download |= e.permissions.download;
    }
  return p;
}

} // namespace qtc
