// A node for the simulator: the production storage, sync coordinator and peer manager under a
// supervisor, with the peer manager on an in-memory network instead of sockets. Many of them
// share one actor system (CAF's deterministic test coordinator): nothing here uses the actor
// system's registry, and components find each other through their supervisor.
#pragma once

#include "actors/peer_manager.hpp"
#include "actors/simulation/memory_network.hpp"
#include "messages/supervision.hpp"
#include "runtime/chain/chain_spec.hpp"
#include "runtime/io/dns_resolver.hpp"
#include "runtime/store/chain_store.hpp"
#include "runtime/sync/block_download.hpp"
#include "runtime/transport/node_identity.hpp"

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

namespace qtc {

struct simulated_node_config {
  std::filesystem::path data_dir;
  std::shared_ptr<const chain_spec> spec;
  std::shared_ptr<const node_identity> identity;
  memory_network_actor network;
  std::string ip;                      ///< the node's address on the network, e.g. "10.0.0.1"
  std::uint16_t port = 0;              ///< 0: the chain spec's default port
  peer_pool_options pool;              ///< connect/addnode lists, slots, pool size, seed
  block_download::config download;     ///< the sync coordinator's download parameters
  std::uint64_t max_upload_target = 0; ///< bytes a day (--qtcnode.max-upload-target); 0: none
  /// With a resolver (the simulator's table_resolver), the node runs the production DNS seeder
  /// on it, asking the chain spec's seeds; without one, it has no discovery.
  std::shared_ptr<dns_resolver> resolver;
  /// The store's commits: the simulator's stores are on tmpfs and are not flushed.
  commit_mode store_commits = commit_mode::unflushed;
};

/// The fixed time simulated nodes' TLS certificates carry and their TLS checks use (the
/// simulated Unix epoch), so that a run repeats byte for byte.
std::chrono::system_clock::time_point simulated_tls_time();

/// The node's supervision tree: storage, [discovery,] sync, peers (registered with the network as
/// it starts).
supervisor_spec make_simulated_node(simulated_node_config config);

} // namespace qtc
