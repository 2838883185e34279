// What peer discovery hands to the address manager: candidate peer addresses with where they
// came from. DNS seeds (A/AAAA/SRV/TXT), the chain spec's bootstrap nodes, `addr`/`addrv2` relay
// and operator-configured peers all produce these.
#pragma once

#include "messages/field.hpp"

#include <caf/meta/type_name.hpp>

#include <array>
#include <cstdint>
#include <string>

namespace qtc {

/// One candidate peer.
struct discovered_peer {
  std::array<std::uint8_t, 16> ip{}; ///< IPv6, or IPv4 as ::ffff:a.b.c.d (as net_address)
  std::uint16_t port = 0;
  std::string pubkey_hex; ///< the peer's static key when the source pins it (TXT), else empty
  bool tls_only = false;  ///< the source says the peer speaks only TLS (`tls:` entry)
  std::string source;     ///< e.g. "dns:seed1.example/A", "dns:seed1.example/TXT", "bootstrap"
  friend bool operator==(const discovered_peer&, const discovered_peer&) = default;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, discovered_peer& x) {
  return f(caf::meta::type_name("discovered_peer"), field("ip"), x.ip, field("port"), x.port,
           field("pubkey_hex"), x.pubkey_hex, field("tls_only"), x.tls_only, field("source"),
           x.source);
}

} // namespace qtc
