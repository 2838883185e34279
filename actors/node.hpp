// The node's supervision tree, assembled from its options and chain spec:
//
//   root (one_for_one)
//   ├── storage     data directory (LMDB stores later)
//   ├── metrics     Prometheus registry + /metrics endpoint; the root's event observer
//   ├── security    ban/threat tracker
//   ├── discovery   DNS seeder
//   ├── nat         NAT mapper (STUN, UPnP)
//   ├── sync        sync coordinator
//   ├── peers       peer manager: P2P listener; peer sessions are its temporary children later
//   └── inspector   live inspection: every component's status, for qtc-inspect
//
// Start order is dependency order: what others use starts first and stops last.
#pragma once

#include "messages/supervision.hpp"
#include "runtime/chain_spec.hpp"
#include "runtime/node_identity.hpp"
#include "runtime/node_options.hpp"
#include "runtime/peer_session_core.hpp"

#include <memory>

namespace qtc {

/// The session settings the chain spec implies (magic, limits, versions, connect timeout).
session_settings session_settings_for(const chain_spec& spec);

/// `identity` is the node's long-term key (data-dir/node.key), shared read-only by every session.
supervisor_spec make_node_tree(const node_options& options, const chain_spec& spec,
                               std::shared_ptr<const node_identity> identity);

} // namespace qtc
