#include "runtime/nat/advertisement.hpp"

#include <algorithm>

namespace qtc::nat {

namespace {

self_advertisement reachable_at(const ip_bytes& ip, std::uint16_t port, std::string source) {
  self_advertisement a;
  a.known = true;
  a.reachable = true;
  a.ip = ip;
  a.port = port;
  a.source = std::move(source);
  return a;
}

bool is_zero(const ip_bytes& ip) {
  return ip == ip_bytes{} || ip == ipv4(0, 0, 0, 0);
}

} // namespace

self_advertisement decide_advertisement(const advertisement_inputs& in) {
  std::optional<ip_bytes> stun_ip;
  if (in.probe && in.probe->mapped)
    stun_ip = in.probe->mapped->ip;
  if (in.mapping) {
    auto ip = !is_zero(in.mapping->external_ip) ? std::optional{in.mapping->external_ip}
              : stun_ip                         ? stun_ip
                                                : in.peers_confirmed;
    if (ip)
      return reachable_at(*ip, in.mapping->external_port, to_string(in.mapping->method));
  }
  if (in.probe && in.probe->mapping == nat_behaviour::no_nat && stun_ip)
    return reachable_at(*stun_ip, in.listen_port, "no-nat");
  if (in.peers_confirmed
      && std::find(in.local.begin(), in.local.end(), *in.peers_confirmed) != in.local.end())
    return reachable_at(*in.peers_confirmed, in.listen_port, "peers");
  if (in.probe && stun_ip && in.probe->mapping == nat_behaviour::endpoint_independent
      && in.probe->filtering == nat_behaviour::endpoint_independent)
    return reachable_at(*stun_ip, in.listen_port, "full-cone");
  self_advertisement a;
  // Behind a NAT that does not let peers in, once no gateway will map the port: say so.
  a.known = stun_ip.has_value() && in.mapping_given_up;
  return a;
}

} // namespace qtc::nat

namespace qtc::nat {

std::string nat_type_name(nat_behaviour mapping, nat_behaviour filtering) {
  switch (mapping) {
  case nat_behaviour::no_nat:
    return "none";
  case nat_behaviour::address_dependent:
  case nat_behaviour::address_and_port_dependent:
    return "symmetric";
  case nat_behaviour::endpoint_independent:
    switch (filtering) {
    case nat_behaviour::endpoint_independent:
      return "full-cone";
    case nat_behaviour::address_dependent:
      return "restricted-cone";
    case nat_behaviour::address_and_port_dependent:
      return "port-restricted-cone";
    default:
      return "cone";
    }
  default:
    return "unknown";
  }
}

} // namespace qtc::nat
