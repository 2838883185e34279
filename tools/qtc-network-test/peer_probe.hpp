// qtc-network-test's second part: one connection to one peer over one transport, driven by the
// node's own session core (runtime/session/peer_session_core: the Noise or TLS initiator, each
// side's QuantumProof, version/verack) on a blocking socket loop — a tool, not the node. Once the
// session is ready it asks for addresses (getaddr) and for every header from genesis, which it
// checks with the node's header tree (proof of work, linkage, the chain spec's genesis).
#pragma once

#include "options.hpp"
#include "runtime/net/ip_address.hpp"
#include "runtime/transport/node_identity.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace qtc::nettest {

struct peer_target {
  ip_bytes ip{};
  std::uint16_t port = 0;
  transport_kind transport = transport_kind::noise;
  std::string pubkey_hex; ///< a pinned node id: the peer's QuantumProof must name it
  std::string source;
};

/// What one connection showed. `failed_step` is empty when every step passed.
struct peer_probe {
  std::string address; ///< "ip:port"
  std::string transport;
  std::string source;
  std::string failed_step; ///< connect, handshake, addresses, headers
  std::string error;
  double connect_ms = -1;   ///< TCP connect: about one round trip
  double handshake_ms = -1; ///< transport handshake, QuantumProof both ways and version/verack
  double headers_ms = -1;   ///< getheaders from genesis to the first headers answer
  bool post_quantum = false;
  std::string node_id; ///< hex, from the peer's verified QuantumProof
  std::string user_agent;
  std::int32_t protocol_version = 0;
  std::int32_t start_height = 0;        ///< the height its version announced
  std::optional<std::size_t> addresses; ///< entries of its answer to getaddr
  std::uint64_t headers = 0;            ///< valid headers received after genesis
  std::string tip_hash;                 ///< of the last valid header (genesis if none)
};

/// Connects to `target` and runs every step; each waits at most `o.timeout`. Each connection has
/// its own fresh identity: a node closes a second session with a node id it already has.
peer_probe probe_peer(const chain_spec& spec, const peer_target& target, const options& o);

} // namespace qtc::nettest
