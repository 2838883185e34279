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

#include "actors/support/logger.hpp"
#include "actors/support/metrics_client.hpp"
#include "actors/support/sibling.hpp"
#include "actors/support/unix_clock.hpp"
#include "messages/interfaces.hpp"
#include "runtime/chain/chain_spec.hpp"
#include "runtime/chain/header_tree.hpp"
#include "runtime/sync/block_download.hpp"
#include "runtime/sync/compact_block.hpp"
#include "runtime/sync/tx_pool.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <random>

namespace qtc {

/// What the coordinator knows about one ready peer.
struct sync_peer {
  peer_info info;
  peer_session_actor session;
  const header_node* best_known = nullptr; ///< the best header we know the peer has
  bool headers_requested = false;          ///< a getheaders is outstanding
  std::chrono::steady_clock::time_point headers_sent{};
  std::uint32_t unconnecting_headers = 0; ///< headers messages that did not connect
  bool asked_once = false;                ///< asked for headers at least once
  bool wants_headers = false;             ///< sendheaders: announce new blocks by headers
  std::uint64_t useful_headers = 0;
  std::uint64_t useful_blocks = 0;
  // What the peer manager has been told (it scores peers on what they deliver).
  std::uint64_t reported_headers = 0;
  std::uint64_t reported_blocks = 0;
  std::int32_t reported_height = -1;
  fee_filter feefilter; ///< its BIP133 minimum: what we announce to it
  known_txs known;      ///< txids it has (announced, sent, or announced to it)
  bool compact = false; ///< sent sendcmpct version 1: serves and takes compact blocks
  std::optional<hash256> cmpct_requested;     ///< asked for with getdata type 4
  std::optional<partial_block> cmpct_pending; ///< waiting for its blocktxn
  bool wants_cmpct_push = false; ///< sent sendcmpct(true, 1): new tips go to it as cmpctblock
};

struct sync_state {
  logger log;
  metrics_client metrics;
  std::shared_ptr<const chain_spec> spec;
  std::unique_ptr<header_tree> tree;
  std::unique_ptr<block_download> download;
  block_download::config download_config;
  sibling<storage_actor> storage;
  unix_clock unix;                         ///< Unix time on the actor clock (header timestamps)
  bool loaded = false;                     ///< the stored chain is in the tree
  const header_node* committed = nullptr;  ///< the best stored block (confirmed by storage)
  const header_node* commit_tip = nullptr; ///< the last block handed to storage
  const header_node* target_tip = nullptr; ///< the best header the download targets
  std::uint32_t target_first = 0;          ///< the first height the download targets
  std::uint32_t writes_in_flight = 0;      ///< block writes sent to storage, not yet confirmed
  std::map<std::uint64_t, sync_peer> peers;
  std::optional<std::uint64_t> headers_peer; ///< the one peer asked for headers while behind
  std::chrono::steady_clock::time_point last_progress_line{};
  std::uint32_t last_progress_blocks = 0;
  bool reported_synced = false;
  bool synced_once = false; ///< initial sync is over: high-bandwidth peers may be picked
  std::optional<std::uint32_t> announced_height;  ///< last height told to the subscribers
  std::vector<sync_subscriber_actor> subscribers; ///< who hears our height (the peer manager)
  std::uint64_t blocks_received = 0;
  std::uint64_t blocks_rejected = 0;
  std::uint64_t unrequested_blocks = 0;
  std::uint64_t headers_received = 0;
  /// Unconfirmed transactions (stateless checks only: runtime/sync/tx_pool) for relay.
  tx_pool pool{tx_pool::limits{}};
  /// Transactions asked for with getdata and when; one request per txid at a time.
  std::map<hash256, std::chrono::steady_clock::time_point> txs_requested;
  std::uint64_t txs_accepted = 0;
  std::uint64_t txs_rejected = 0;
  std::uint64_t cmpct_rebuilt = 0;             ///< blocks rebuilt from a compact block
  std::uint64_t cmpct_from_pool = 0;           ///< their transactions found in the pool
  std::uint64_t cmpct_requested_txs = 0;       ///< their transactions fetched with getblocktxn
  std::uint64_t cmpct_fallbacks = 0;           ///< compact blocks fetched whole after all
  std::uint64_t cmpct_served = 0;              ///< cmpctblock messages sent
  std::uint64_t cmpct_announced = 0;           ///< of those, pushed unasked (high bandwidth)
  std::uint64_t cmpct_unsolicited = 0;         ///< cmpctblock pushes taken for our next block
  high_bandwidth_peers hb_peers;               ///< whom we asked to push new blocks to us
  std::mt19937_64 rng{std::random_device{}()}; ///< compact block nonces
  static inline const char* name = "sync";
};

using sync_pointer = sync_actor::stateful_pointer<sync_state>;

/// `parent` is the node's supervisor, where the storage actor is found.
sync_actor::behavior_type sync_coordinator(sync_pointer self,
                                           std::shared_ptr<const chain_spec> spec,
                                           supervisor_actor parent,
                                           block_download::config download);

} // namespace qtc
