// The node's supervision tree, assembled from its options and chain spec:
//
//   root (one_for_one)
//   ├── storage     data directory and the LMDB chain store
//   ├── metrics     Prometheus registry + /metrics endpoint; the root's event observer
//   ├── security    security manager: weighs offences, bans (stored), tells the peer manager
//   ├── discovery   DNS seeder
//   ├── nat         NAT mapper (STUN, UPnP; idle)
//   ├── sync        sync coordinator
//   ├── peers       peer manager: P2P listener and the sessions it owns (each monitors the
//   │               other: a failed manager closes its sessions, a failed session frees its slot)
//   ├── inspector   live inspection: every component's status, for qtc-inspect
//   └── rpc         JSON-RPC server (bitcoind's methods) on its own HTTP threads
//
// Start order is dependency order: what others use starts first and stops last.
#pragma once

#include "actors/sync_coordinator.hpp"
#include "messages/supervision.hpp"
#include "runtime/chain/chain_spec.hpp"
#include "runtime/config/node_options.hpp"
#include "runtime/session/peer_session_core.hpp"
#include "runtime/store/chain_store.hpp"
#include "runtime/sync/block_download.hpp"
#include "runtime/transport/channel_select.hpp"
#include "runtime/transport/node_identity.hpp"

#include <chrono>
#include <memory>
#include <optional>

namespace qtc {

/// The session settings the chain spec implies (magic, limits, versions, connect timeout).
session_settings session_settings_for(const chain_spec& spec);

/// The transport context of a node (identity, static key pair, network magic), shared read-only
/// by all its sessions. `tls_now`: the fixed time its TLS certificates and checks use (the
/// simulator's; unset: the system clock).
std::shared_ptr<const channel_context>
make_channel_context(std::shared_ptr<const node_identity> identity, const chain_spec& spec,
                     pq_policy pq = pq_policy::required,
                     std::optional<std::chrono::system_clock::time_point> tls_now = std::nullopt);

/// The storage child: the chain store in `<data_dir>/chain`.
child_spec storage_child(std::filesystem::path data_dir, const chain_spec& spec,
                         commit_mode mode = commit_mode::flushed);

/// The sync coordinator child (finds storage through its supervisor).
/// `options`: the block download's window, per-peer limit and timeouts; the upload target.
child_spec sync_child(std::shared_ptr<const chain_spec> spec, sync_options options = {});

/// The security manager, its policy configured from the chain spec's [dos] table (shared by the
/// node and the simulator).
/// The NAT mapper (the chain spec's [nat]), with the host's sockets, gateway and miniupnpc, and
/// a resolver for STUN server names asking `dns_servers` (empty: the system's). `port`: the P2P
/// port it maps and advertises.
child_spec nat_child(const chain_spec& spec, std::vector<std::string> dns_servers,
                     std::uint16_t port);

child_spec security_child(const chain_spec& spec, std::vector<allow_entry> allow = {},
                          attack_detectors::config detectors = {});

/// The JSON-RPC server (rpc-host, rpc-port or the chain spec's default_rpc_port, rpc-auth).
child_spec rpc_child(const node_options& options, const chain_spec& spec);

/// `identity` is the node's long-term key (data-dir/node.key), shared read-only by every session;
/// `log_sink` the node's log, for the inspector's `log` (none: `log` answers not_found).
supervisor_spec make_node_tree(const node_options& options, const chain_spec& spec,
                               std::shared_ptr<const node_identity> identity,
                               log_sink_actor log_sink = {});

} // namespace qtc
