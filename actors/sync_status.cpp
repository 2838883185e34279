// What the sync coordinator tells others: its height to the subscribers, what each peer
// delivered, progress log lines and the sync_progress gauge, and its status report.
#include "actors/support/metric_names.hpp"
#include "actors/support/status_fields.hpp"
#include "actors/sync_state.hpp"
#include "messages/errors.hpp"
#include "messages/primitives/hash.hpp"
#include "messages/primitives/hex.hpp"

#include <algorithm>
#include <cstdio>

namespace qtc {

namespace {

constexpr auto progress_interval = std::chrono::seconds{5};
/// How often at most the sync gauges go to the metrics actor: every commit sent four messages
/// (a tenth of the simulator's jobs), and a scrape comes every 15 s or so. The coordinator's
/// one-second tick sends what changed since.
constexpr auto gauges_interval = std::chrono::seconds{1};

/// The height we are syncing towards: our best header, or a peer's announced start height if
/// higher (its headers are still to come).
std::uint32_t sync_target(const sync_state& st) {
  std::uint32_t target = st.tree->best().height;
  for (const auto& [id, p] : st.peers)
    target = std::max<std::uint32_t>(
        target, static_cast<std::uint32_t>(std::max<std::int32_t>(p.info.start_height, 0)));
  return target;
}

double sync_fraction(std::uint32_t blocks, std::uint32_t target) {
  return target == 0 ? 1.0 : std::min(1.0, static_cast<double>(blocks) / target);
}
/// Each ready peer's download state, for the detailed status.
caf::config_value::list peers_status(sync_pointer self) {
  auto& st = self->state;
  caf::config_value::list peers;
  for (const auto& [id, p] : st.peers) {
    caf::settings e;
    report(e, "id", id);
    report(e, "remote", p.info.remote);
    report(e, "best-known", p.best_known ? p.best_known->height : 0);
    report(e, "useful-headers", p.useful_headers);
    report(e, "useful-blocks", p.useful_blocks);
    report(e, "wants-compact-push", p.wants_cmpct_push);
    report(e, "serve-queue", p.serve_queue.size());
    report(e, "serving", p.serving);
    report(e, "serve-dropped", p.serve_dropped);
    report(e, "serve-repeats", p.repeats);
    if (p.presync) {
      report(e, "presync", to_string(p.presync->current()));
      report(e, "presync-height",
             p.presync->current() == headers_presync::phase::presync
                 ? p.presync->presync_height()
                 : p.presync->redownload_height());
    }
    if (auto dp = st.download->peer_stats(id)) {
      report(e, "in-flight", dp->in_flight);
      report(e, "delivered", dp->delivered);
      report(e, "timeouts", dp->timeouts);
      report(e, "retired", dp->retired);
    }
    peers.emplace_back(std::move(e));
  }
  return peers;
}
} // namespace

/// Tells the subscribers (the peer manager) what each peer delivered since the last report and
/// the best height it has shown: its score, and what protects it from eviction.
void report_usefulness(sync_pointer self) {
  auto& st = self->state;
  for (auto& [id, p] : st.peers) {
    auto height = p.best_known != nullptr ? static_cast<std::int32_t>(p.best_known->height) : -1;
    if (p.useful_headers == p.reported_headers && p.useful_blocks == p.reported_blocks
        && height == p.reported_height)
      continue;
    peer_usefulness u;
    u.id = id;
    u.new_headers = p.useful_headers - p.reported_headers;
    u.new_blocks = p.useful_blocks - p.reported_blocks;
    u.best_height = height;
    p.reported_headers = p.useful_headers;
    p.reported_blocks = p.useful_blocks;
    p.reported_height = height;
    for (const auto& who : st.subscribers)
      self->send(who, useful_atom::value, u);
  }
}

namespace {

/// Sends the sync gauges when they changed, at most once per gauges_interval unless `force`.
void publish_gauges(sync_state& st, std::array<std::uint32_t, 3> now_values, double progress,
                    bool force, std::chrono::steady_clock::time_point now) {
  if (now_values == st.published_gauges && !force)
    return;
  if (!force && now - st.gauges_at < gauges_interval)
    return;
  st.published_gauges = now_values;
  st.gauges_at = now;
  auto [headers, blocks, target] = now_values;
  st.metrics.gauge(metric_names::sync_progress, {}, progress);
  st.metrics.gauge(metric_names::sync_height, {}, static_cast<double>(blocks));
  st.metrics.gauge(metric_names::sync_target_height, {}, static_cast<double>(target));
  st.metrics.gauge(metric_names::headers_height, {}, static_cast<double>(headers));
}

} // namespace

void update_progress(sync_pointer self, bool force) {
  auto& st = self->state;
  if (!st.loaded)
    return;
  auto blocks = st.committed != nullptr ? st.committed->height : 0;
  if (blocks != st.announced_height) {
    // New sessions announce our height in their version message.
    for (const auto& who : st.subscribers)
      self->send(who, best_atom::value, static_cast<std::int32_t>(blocks));
    st.announced_height = blocks;
  }
  auto headers = st.tree->best().height;
  auto target = sync_target(st);
  double progress = sync_fraction(blocks, target);
  auto now = self->clock().now();
  publish_gauges(st, {headers, blocks, target}, progress, force, now);
  auto synced = blocks == headers && !st.peers.empty() && target == headers;
  if (synced) {
    if (!st.reported_synced) {
      st.reported_synced = true;
      st.synced_once = true;
      st.log.info("sync complete", {{"height", std::to_string(blocks)},
                                    {"tip", to_display_hex(st.committed->hash)}});
      // Blocks committed while catching up were not announced; the tip now is, to the peers
      // not known to have it (Bitcoin Core announces once it leaves initial download). A peer
      // that asked us while we were empty, and found no one better, learns of our chain now,
      // not at its next stale-tip round a minute later (the simulator's stragglers).
      if (st.committed != st.tip_announced) {
        announce(self, *st.committed, nullptr);
        st.tip_announced = st.committed;
      }
    }
    return;
  }
  st.reported_synced = false;
  // A line every few seconds, and every 1000 blocks (operators and tests can follow it).
  if (!force && now - st.last_progress_line < progress_interval
      && blocks / 1000 == st.last_progress_blocks / 1000)
    return;
  st.last_progress_line = now;
  st.last_progress_blocks = blocks;
  char pct[16];
  std::snprintf(pct, sizeof(pct), "%.1f", progress * 100);
  st.log.info("sync progress", {{"headers", std::to_string(headers)},
                                {"blocks", std::to_string(blocks)},
                                {"target", std::to_string(target)},
                                {"progress", std::string{pct} + "%"},
                                {"peers", std::to_string(st.peers.size())}});
}
/// Sync progress: headers, blocks, target, the download's counters, pool and compact counters.
status_report sync_status(sync_pointer self, status_verbosity v) {
  auto& st = self->state;
  caf::settings r;
  report(r, "name", "sync");
  if (!st.loaded) {
    report(r, "state", "loading");
    return r;
  }
  auto blocks = st.committed->height;
  auto headers = st.tree->best().height;
  // Synced: every header's block is stored and the node has once caught up with its peers'
  // best (a node that has heard of no headers yet, or has no peers, is not synced at height 0).
  report(r, "state", blocks == headers && st.synced_once ? "synced" : "syncing");
  report(r, "headers", headers);
  report(r, "blocks", blocks);
  report(r, "tip", to_display_hex(st.committed->hash));
  report(r, "peers", st.peers.size());
  report(r, "headers-received", st.headers_received);
  report(r, "blocks-received", st.blocks_received);
  auto target = sync_target(st);
  report(r, "target", target);
  report(r, "progress", sync_fraction(blocks, target));
  auto d = st.download->stats();
  caf::settings download;
  report(download, "in-flight", d.in_flight);
  report(download, "buffered", d.buffered);
  report(download, "buffered-bytes", d.buffered_bytes);
  report(download, "queued", d.queued);
  report(download, "commit-point", d.next_height);
  report(download, "end-height", d.end_height);
  report(download, "stall-timeout-ms",
         std::chrono::duration_cast<std::chrono::milliseconds>(d.stall_timeout).count());
  report(download, "writes-in-flight", st.writes_in_flight);
  report(r, "download", std::move(download));
  report(r, "pool-txs", st.pool.size());
  report(r, "pool-bytes", st.pool.bytes());
  report(r, "txs-accepted", st.txs_accepted);
  report(r, "txs-rejected", st.txs_rejected);
  report(r, "tx-requests-tracked", st.tx_requests.size());
  report(r, "tx-requests-in-flight", st.tx_requests.in_flight_total());
  report(r, "tx-requests-expired", st.tx_requests_expired);
  report(r, "compact-rebuilt", st.cmpct_rebuilt);
  report(r, "compact-from-pool", st.cmpct_from_pool);
  report(r, "compact-requested-txs", st.cmpct_requested_txs);
  report(r, "compact-fallbacks", st.cmpct_fallbacks);
  report(r, "compact-served", st.cmpct_served);
  report(r, "compact-announced", st.cmpct_announced);
  report(r, "compact-unsolicited", st.cmpct_unsolicited);
  report(r, "high-bandwidth-peers", st.hb_peers.peers().size());
  report(r, "low-work-headers", presync_status(st));
  if (st.upload.settings().target_bytes > 0) {
    auto now = self->clock().now();
    caf::settings upload;
    report(upload, "target-bytes", st.upload.settings().target_bytes);
    report(upload, "sent-in-cycle", st.upload.sent_in_cycle(now));
    report(upload, "left", st.upload.left(now));
    report(upload, "reserve", st.upload.reserve(now));
    report(upload, "seconds-left-in-cycle", st.upload.time_left(now).count());
    report(upload, "historical-limit-reached", st.upload.reached(now, true));
    report(upload, "peers-refused", st.upload_refusals);
    report(r, "upload-target", std::move(upload));
  }
  if (v != status_verbosity::info)
    report(r, "peer-state", peers_status(self));
  return r;
}
} // namespace qtc

namespace qtc {

caf::result<status_report> header_report(sync_pointer self, const header_node* node) {
  const auto& st = self->state;
  if (!st.loaded)
    return make_error(errc::refused, "Loading the stored chain");
  if (node == nullptr)
    return make_error(errc::not_found, "Block not found");
  status_report r;
  report(r, "hash", to_display_hex(node->hash));
  report(r, "height", node->height);
  // Confirmations as bitcoind counts them: on the best stored chain, its depth; else -1.
  bool stored_chain = node->height <= st.committed->height
                      && st.tree->ancestor(*st.committed, node->height) == node;
  report(r, "confirmations",
         stored_chain ? static_cast<std::int64_t>(st.committed->height - node->height) + 1 : -1);
  report(r, "version", node->header.version);
  report(r, "merkleroot", to_display_hex(node->header.merkle_root));
  report(r, "time", node->header.time);
  report(r, "mediantime", st.tree->median_time_past(*node));
  report(r, "nonce", node->header.nonce);
  report(r, "bits", node->header.bits);
  report(r, "chainwork", node->chain_work.to_hex());
  report(r, "hex", to_hex(serialize(node->header)));
  if (node->parent != nullptr)
    report(r, "previousblockhash", to_display_hex(node->parent->hash));
  if (stored_chain && node->height < st.committed->height)
    report(r, "nextblockhash",
           to_display_hex(st.tree->ancestor(*st.committed, node->height + 1)->hash));
  report(r, "blocks", st.committed->height);
  report(r, "headers", st.tree->best().height);
  return r;
}

caf::result<status_report> header_report(sync_pointer self, const hash256& hash) {
  return header_report(self, self->state.loaded ? self->state.tree->find(hash) : nullptr);
}

caf::result<status_report> header_report(sync_pointer self, std::int32_t height) {
  const auto& st = self->state;
  if (st.loaded && (height < 0 || static_cast<std::uint32_t>(height) > st.committed->height))
    return make_error(errc::not_found, "Block height out of range");
  return header_report(
      self,
      st.loaded ? st.tree->ancestor(*st.committed, static_cast<std::uint32_t>(height)) : nullptr);
}

} // namespace qtc
