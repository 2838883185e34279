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
#include "runtime/node_options.hpp"

namespace qtc {

supervisor_spec make_node_tree(const node_options& options, const chain_spec& spec);

} // namespace qtc
