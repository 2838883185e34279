// The sync coordinator's state: its view of the chain (header tree, block download, what is
// stored), each ready peer's sync state, the transaction pool and the counters its status shows.
// Internal to the sync coordinator's files (actors/sync_*.cpp); others use
// actors/sync_coordinator.hpp.
#pragma once

#include "actors/support/logger.hpp"
#include "actors/support/metered.hpp"
#include "actors/support/metrics_client.hpp"
#include "actors/support/sibling.hpp"
#include "actors/support/unix_clock.hpp"
#include "messages/interfaces.hpp"
#include "runtime/chain/chain_spec.hpp"
#include "runtime/chain/header_tree.hpp"
#include "runtime/net/report_gate.hpp"
#include "runtime/sync/block_download.hpp"
#include "runtime/sync/compact_block.hpp"
#include "runtime/sync/headers_presync.hpp"
#include "runtime/sync/tx_pool.hpp"
#include "runtime/sync/tx_request_tracker.hpp"
#include "runtime/sync/upload_target.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <array>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <variant>

namespace qtc {

/// One request of a peer waiting to be answered: a getdata item, or a getheaders.
using serve_job = std::variant<inv_item, getheaders_message>;

/// What the coordinator knows about one ready peer.
struct sync_peer {
  peer_info info;
  peer_session_actor session;
  const header_node* best_known = nullptr; ///< the best header we know the peer has
  /// fork_point(best header, best_known) as last computed, with the pair it was computed for:
  /// schedule_blocks needs it for every peer each time a block arrives, and the pair rarely
  /// changes (the walk was 2.5 % of the 1,000-node simulation). Tree nodes are never freed.
  struct {
    const header_node* best = nullptr;
    const header_node* known = nullptr;
    std::uint32_t height = 0;
  } servable_fork;
  bool headers_requested = false; ///< a getheaders is outstanding
  bool headers_continued = false; ///< ...for the rest after a full headers message (far behind)
  bool headers_moot = false;      ///< ...after a header we did not take (future): answer ignored
  std::chrono::steady_clock::time_point headers_sent{};
  std::uint32_t unconnecting_headers = 0; ///< headers messages that did not connect
  std::optional<headers_presync> presync; ///< following its low-work chain (actors/sync_presync)
  std::uint32_t low_work_messages = 0;    ///< low-work headers messages ignored since it was useful
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
  // Serving (actors/sync_serving.cpp): its requests are answered as fast as it reads.
  std::deque<serve_job> serve_queue;   ///< requests not yet answered, in arrival order
  std::uint32_t serving = 0;           ///< answers being built or waiting for the session's pace
  std::uint32_t queued_getheaders = 0; ///< getheaders among serve_queue
  notfound_message missing;            ///< getdata items we lack, sent once the queue is empty
  std::uint64_t serve_dropped = 0;     ///< requests dropped because its queue was full
  report_gate floods; ///< its floods reported to the security manager, once a minute per kind
  /// Amplification: the heights of the blocks served to it (one bit each), the highest header
  /// height sent, and answers it asked for again since the last report.
  std::vector<bool> served_blocks;
  std::uint32_t headers_served_to = 0;
  std::uint32_t repeats_unreported = 0;
  std::uint64_t repeats = 0;
};

struct sync_state {
  logger log;
  metrics_client metrics;
  /// Handling times of headers and block messages not yet sent to the metrics actor: they go
  /// once a second (the tick) or every 256, not one message each.
  std::vector<double> headers_times;
  std::vector<double> block_times;
  std::shared_ptr<const chain_spec> spec;
  std::unique_ptr<header_tree> tree;
  std::unique_ptr<block_download> download;
  block_download::config download_config;
  sibling<storage_actor> storage;
  sibling<security_actor> security; ///< told of peers' floods (found at start; may be absent)
  supervisor_actor parent;
  unix_clock unix;                         ///< Unix time on the actor clock (header timestamps)
  bool loaded = false;                     ///< the stored chain is in the tree
  const header_node* committed = nullptr;  ///< the best stored block (confirmed by storage)
  const header_node* commit_tip = nullptr; ///< the last block handed to storage
  const header_node* target_tip = nullptr; ///< the best header the download targets
  std::uint32_t target_first = 0;          ///< the first height the download targets
  std::uint32_t writes_in_flight = 0;      ///< block writes sent to storage, not yet confirmed
  std::map<std::uint64_t, sync_peer> peers;
  std::optional<std::uint64_t> headers_peer; ///< the one peer asked for headers while behind
  /// Our best header as the stale check last saw it, and since when (actors/sync_headers).
  hash256 stale_best{};
  std::chrono::steady_clock::time_point stale_since{};
  std::chrono::seconds stale_wait{0}; ///< until the next round (doubles; 0: the first interval)
  std::chrono::steady_clock::time_point last_progress_line{};
  /// The sync gauges as last sent to the metrics actor (headers, blocks, target), and when.
  std::array<std::uint32_t, 3> published_gauges{};
  std::chrono::steady_clock::time_point gauges_at{};
  std::uint32_t last_progress_blocks = 0;
  bool reported_synced = false;
  bool synced_once = false; ///< initial sync is over: high-bandwidth peers may be picked
  const header_node* tip_announced = nullptr;     ///< the last block announced to the peers
  std::optional<std::uint32_t> announced_height;  ///< last height told to the subscribers
  std::vector<sync_subscriber_actor> subscribers; ///< who hears our height (the peer manager)
  std::uint64_t blocks_received = 0;
  std::uint64_t blocks_rejected = 0;
  std::uint64_t unrequested_blocks = 0;
  std::uint64_t headers_received = 0;
  upload_target upload;              ///< what is served per cycle (actors/sync_serving)
  std::uint64_t upload_refusals = 0; ///< peers cut off for historical blocks past it
  // Low-work header chains (actors/sync_presync.cpp).
  std::uint64_t presyncs_started = 0;
  std::uint64_t presyncs_completed = 0; ///< reached the threshold and released
  std::uint64_t presyncs_dropped = 0;   ///< ended below the threshold: nothing stored
  std::uint64_t presyncs_failed = 0;    ///< a broken rule or a changed chain
  std::uint64_t low_work_ignored = 0;   ///< short low-work headers messages ignored
  /// Unconfirmed transactions (stateless checks only: runtime/sync/tx_pool) for relay.
  tx_pool pool{tx_pool::limits{}};
  /// Announced transactions: whom to ask for which, one request per txid at a time
  /// (runtime/sync/tx_request_tracker, Core's TxRequestTracker rules).
  tx_request_tracker tx_requests;
  std::uint64_t tx_requests_expired = 0; ///< requests a peer let time out
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

using sync_pointer = metered_pointer<sync_actor, sync_state>;

// What the sync coordinator's files share. Each function's comment is at its definition.

// actors/sync_coordinator.cpp: the behaviour, peers joining and leaving, the tick.
void disconnect(sync_pointer self, std::uint64_t id, close_reason reason, std::string detail);

// actors/sync_headers.cpp: the headers sync, and serving headers and block lists.
bool on_best_chain(const header_tree& tree, const header_node& node);
void send_getheaders(sync_pointer self, sync_peer& p, std::vector<hash256> locator);
void request_headers(sync_pointer self, sync_peer& p, bool from_parent = false);
void drive_headers(sync_pointer self);
void expire_headers_requests(sync_pointer self);
void on_headers(sync_pointer self, std::uint64_t id, const headers_message& msg);
headers_message headers_answer(const sync_state& st, const getheaders_message& msg);
bool take_headers(sync_pointer self, sync_peer& p, std::span<const block_header> headers);
bool drop_faulty_headers(sync_pointer self, sync_peer& p, const headers_message& msg,
                         const header_node* fork);
void on_getblocks(sync_pointer self, sync_peer& p, const getblocks_message& msg);
/// What accept_next_header found (see there).
struct next_block_header {
  const header_node* node = nullptr;
  std::string error;
  bool invalid = false; ///< the header itself is invalid (not merely not the next block)
};
next_block_header accept_next_header(sync_pointer self, const block_header& h);

// actors/sync_presync.cpp: low-work header chains.
uint256 anti_dos_work(const sync_state& st);
bool low_work_headers(sync_pointer self, sync_peer& p, const headers_message& msg);
caf::settings presync_status(const sync_state& st);

// actors/sync_blocks.cpp: the block download, committing in height order, serving blocks.
void update_target(sync_pointer self);
void schedule_blocks(sync_pointer self);
void commit_ready(sync_pointer self);
void announce(sync_pointer self, const header_node& node, const block* b);
void on_block(sync_pointer self, std::uint64_t id, block_message&& msg);
void on_notfound(sync_pointer self, std::uint64_t id, const notfound_message& msg);
void check_stalls(sync_pointer self);

// actors/sync_compact.cpp: BIP152 compact blocks, taken and served.
bool recent_block(const sync_state& st, const hash256& hash, std::uint32_t depth);
peer_answer compact_answer(sync_pointer self, bytes raw, bool recent);
void on_cmpctblock(sync_pointer self, std::uint64_t id, sync_peer& p,
                   const cmpctblock_message& msg);
void on_blocktxn(sync_pointer self, std::uint64_t id, sync_peer& p, const blocktxn_message& msg);
void on_getblocktxn(sync_pointer self, std::uint64_t id, sync_peer& p,
                    const getblocktxn_message& msg);

// actors/sync_serving.cpp: answering getdata and getheaders at the pace the peer reads.
void on_getdata(sync_pointer self, std::uint64_t id, sync_peer& p, const getdata_message& msg);
void report_flood(sync_pointer self, sync_peer& p, offence kind, const std::string& detail);
void on_getheaders(sync_pointer self, std::uint64_t id, sync_peer& p,
                   const getheaders_message& msg);

// actors/sync_txs.cpp: transaction relay.
void on_tx_announcements(sync_pointer self, std::uint64_t id, sync_peer& p, const inv_message& msg);
void on_tx(sync_pointer self, std::uint64_t id, sync_peer& p, tx_message&& msg);
std::optional<bytes> tx_answer(sync_pointer self, sync_peer& p, const hash256& txid);
void on_tx_not_found(sync_pointer self, std::uint64_t id, const hash256& txid);
void schedule_tx_requests(sync_pointer self);
void forget_tx_requests(sync_pointer self, const block& b);

// actors/sync_status.cpp: progress, what peers delivered, the status report.
void update_progress(sync_pointer self, bool force);
void report_usefulness(sync_pointer self);
status_report sync_status(sync_pointer self, status_verbosity v);
/// A header of the tree in bitcoind's getblockheader fields (hash, height, confirmations on the
/// best stored chain, ..., hex), with the best stored height as `blocks` and the best header's
/// as `headers`; not_found for an unknown hash or a height past the best stored block.
caf::result<status_report> header_report(sync_pointer self, const hash256& hash);
caf::result<status_report> header_report(sync_pointer self, std::int32_t height);

} // namespace qtc
