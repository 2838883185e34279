// What a DNS seed's answer names as peers, without doing anything about it: the DNS seeder
// (actors/dns_seeder) and qtc-network-test read answers the same way (docs/protocol.md, "DNS
// seeds"): A/AAAA records are addresses on the chain spec's default port; a SRV record names a
// host and its port; a TXT record holds whitespace-separated address entries
// (`[tls:][<node id>@]host:port`). Host names still have to be looked up (A and AAAA).
#pragma once

#include "runtime/chain/chain_spec.hpp"
#include "runtime/io/dns_resolver.hpp"

#include <optional>
#include <string>
#include <vector>

namespace qtc {

/// One peer an answer names: an address to use (`ip`), or a host name to look up.
struct seed_target {
  std::string host;           ///< the address as text, or the host name to look up
  std::optional<ip_bytes> ip; ///< set when `host` is an address
  std::uint16_t port = 0;
  std::string pubkey_hex; ///< a TXT entry's pinned node id, or empty
  bool tls_only = false;  ///< a TXT entry's `tls:` prefix
};

/// An entry of the answer that names no usable peer, and why.
struct seed_rejection {
  std::string entry;
  std::string reason;
};

struct seed_targets {
  std::vector<seed_target> targets;
  std::vector<seed_rejection> rejected;
};

/// The peers a successful answer names (`default_port` for A/AAAA records). Malformed TXT
/// entries and invalid host names are rejected with their reason; addresses are not judged here
/// (whether private addresses are usable is the chain spec's call).
seed_targets targets_of(const dns_answer& answer, std::uint16_t default_port);

/// A configured address entry (a chain spec's bootstrap node) as a target, or its rejection.
seed_targets targets_of(const network_address_entry& entry);

} // namespace qtc
