// qtc-network-test's first part: every DNS seed of the chain spec asked for A, AAAA, SRV and TXT
// through the node's own resolver (c-ares) and read as the node's DNS seeder reads the answers
// (runtime/io/seed_answer); host names that SRV and TXT records name are looked up too.
#pragma once

#include "options.hpp"
#include "runtime/io/dns_resolver.hpp"

#include <string>
#include <vector>

namespace qtc::nettest {

/// One query of one seed.
struct seed_query {
  std::string seed;
  dns_type type = dns_type::a;
  dns_failure failure = dns_failure::none;
  std::string detail;                ///< the resolver's words for a failure
  double milliseconds = 0;           ///< from the query to its answer
  std::vector<std::string> records;  ///< as text: an address, "target:port", the TXT string
  std::vector<std::string> peers;    ///< usable peers found through it ("ip:port")
  std::vector<std::string> rejected; ///< "what: why" for entries and addresses not used
};

/// A peer to connect to, and where it was found.
struct found_peer {
  ip_bytes ip{};
  std::uint16_t port = 0;
  std::string pubkey_hex; ///< a pinned node id, or empty
  bool tls_only = false;
  std::string source; ///< "dns:<seed>/<type>" or "connect"
};

struct dns_report {
  std::vector<seed_query> queries; ///< seeds in the chain spec's order, types A, AAAA, SRV, TXT
  std::vector<found_peer> peers;   ///< every usable peer once, in the order found
  std::string error;               ///< the resolver could not start (bad --dns-servers)
};

/// Asks every seed; returns when every query (and each host lookup they led to) is answered or
/// timed out. Peers are deduplicated by address and port.
dns_report resolve_seeds(const chain_spec& spec, const options& o);

} // namespace qtc::nettest
