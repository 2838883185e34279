// The sync coordinator: makes this node's chain the best chain its peers know, and serves its
// own chain to them.
//
// Headers first: one peer at a time is asked for headers (getheaders with a locator) while the
// chain is far behind, every peer once it has caught up; each header is validated by the header
// tree (linkage, proof of work, difficulty, median time past, future limit) and stored. Blocks
// are then downloaded in parallel from every peer that has them (runtime/sync/block_download:
// moving window, per-peer in-flight limit, stall detection and reassignment), checked, and
// committed to the store in height order. A peer that sends invalid headers or blocks is
// disconnected with its data discarded; sync continues from the others.
//
// Serving: getheaders is answered from the best chain, getdata from the store.
//
// Transactions: `tx` goes into a bounded pool (stateless checks only; no UTXO set) and is
// announced by `inv` to the other peers that relay, do not know it yet and whose feefilter it
// passes; `inv` of unknown txids is answered with getdata, `getdata` for txids from the pool.
// A committed block's transactions (and their double spends) leave the pool.
//
// Compact blocks (BIP152 version 1, low bandwidth only): every ready peer is sent
// sendcmpct(false, 1). A block that is the single next one past our tip is requested as a
// compact block (getdata type 4) from a peer that sent sendcmpct version 1, rebuilt from the pool
// (runtime/sync/compact_block) with a getblocktxn for what is missing, and fetched whole if that
// fails. getdata type 4 and getblocktxn are served from the store.
//
// High bandwidth (BIP152, as Core does it): after initial sync, a compact peer that was first to
// deliver a new valid tip block becomes one of our (at most 3) high-bandwidth peers
// (runtime/sync/compact_block's high_bandwidth_peers) and is sent sendcmpct(true, 1); the one it
// displaces is sent sendcmpct(false, 1). To a peer that sent us sendcmpct(true, 1), a newly
// committed tip is pushed as cmpctblock instead of headers/inv. An unsolicited cmpctblock whose
// header extends our tip is validated by the header tree, claimed in the block download
// (block_download::announced) and rebuilt like a requested one.
//
// Local blocks: `put_atom, block_atom, bytes` (Core's submitblock) takes a block that extends our
// tip and commits and announces it like one from a peer.
#pragma once

#include "actors/sync_state.hpp"

#include <cstddef>
#include <memory>

namespace qtc {

/// The most blocks committed in one durable transaction (actors/sync_blocks): so many blocks or
/// so many bytes, whichever is reached first. qtc-bench-sync measures the disk's commit rate in
/// batches of this size, the bound of a download on disk.
constexpr std::size_t sync_commit_batch_blocks = 1000;
constexpr std::size_t sync_commit_batch_bytes = std::size_t{32} << 20;

/// How the sync coordinator is started (actors/node.cpp, the simulator).
struct sync_options {
  block_download::config download; ///< the block download's window, limits and timeouts
  /// Bytes the node serves per 24 hours before it stops serving historical blocks to peers
  /// without the download permission (Core's -maxuploadtarget); 0: no target.
  std::uint64_t max_upload_target = 0;
  /// Seeds the coordinator's random choices (compact block nonces, the presync salt); 0: a
  /// random seed. The simulator gives each node its own, so a run repeats exactly.
  std::uint64_t seed = 0;
};

/// `parent` is the node's supervisor, where the storage actor is found.
sync_actor::behavior_type sync_coordinator(sync_pointer self,
                                           std::shared_ptr<const chain_spec> spec,
                                           supervisor_actor parent, sync_options options);

} // namespace qtc
