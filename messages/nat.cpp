#include "messages/nat.hpp"

namespace qtc {

std::string to_string(nat_behaviour x) {
  switch (x) {
  case nat_behaviour::unknown:
    return "unknown";
  case nat_behaviour::no_nat:
    return "no-nat";
  case nat_behaviour::endpoint_independent:
    return "endpoint-independent";
  case nat_behaviour::address_dependent:
    return "address-dependent";
  case nat_behaviour::address_and_port_dependent:
    return "address-and-port-dependent";
  }
  return "unknown";
}

std::string to_string(port_mapping_method x) {
  switch (x) {
  case port_mapping_method::none:
    return "none";
  case port_mapping_method::pcp:
    return "pcp";
  case port_mapping_method::natpmp:
    return "natpmp";
  case port_mapping_method::upnp:
    return "upnp";
  }
  return "none";
}

} // namespace qtc
