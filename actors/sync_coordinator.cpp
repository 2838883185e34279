// The sync coordinator's behaviour: loading the stored chain, peers joining and leaving, their
// messages by type, local block submission and the once-a-second tick. See
// actors/sync_coordinator.hpp for what it does.
#include "actors/sync_coordinator.hpp"

#include "actors/support/metric_names.hpp"
#include "actors/sync_state.hpp"
#include "messages/errors.hpp"
#include "messages/primitives/hex.hpp"
#include "runtime/chain/block_check.hpp"
#include "runtime/chain/genesis.hpp"

#include <limits>
#include <utility>

namespace qtc {

namespace {

constexpr auto tick_interval = std::chrono::seconds{1};

void load_chain(sync_pointer self) {
  auto& st = self->state;
  self->request(st.storage.get(), caf::infinite, get_atom::value, headers_atom::value)
      .then(
          [self](std::vector<stored_header>& stored) {
            auto& st = self->state;
            std::sort(stored.begin(), stored.end(),
                      [](const auto& a, const auto& b) { return a.height < b.height; });
            // Stored headers were validated when they arrived; the future limit does not
            // apply to what we already accepted.
            for (const auto& h : stored)
              st.tree->accept(h.header, std::numeric_limits<std::int64_t>::max() / 2);
            self->request(st.storage.get(), caf::infinite, get_atom::value, best_atom::value)
                .then(
                    [self](const hash256& best) {
                      auto& st = self->state;
                      st.committed = st.tree->find(best);
                      if (st.committed == nullptr)
                        st.committed = &st.tree->genesis();
                      st.commit_tip = st.committed;
                      st.loaded = true;
                      st.download = std::make_unique<block_download>(st.download_config);
                      st.log.info("chain loaded",
                                  {{"headers", std::to_string(st.tree->best().height)},
                                   {"blocks", std::to_string(st.committed->height)},
                                   {"known-headers", std::to_string(st.tree->size())},
                                   {"tip", to_display_hex(st.committed->hash)}});
                      update_progress(self, true);
                      drive_headers(self);
                      schedule_blocks(self);
                    },
                    [self](const caf::error& err) { self->quit(err); });
          },
          [self](const caf::error& err) { self->quit(err); });
}
/// Takes a serialized block that extends our tip (Core's submitblock): checks its body, then
/// its header, and hands it to the block download as coming from the local pseudo-peer 0.
caf::result<hash256> submit_block(sync_pointer self, const bytes& raw) {
  auto& st = self->state;
  if (!st.loaded)
    return make_error(errc::invalid_block, "the chain is still loading");
  byte_reader r{raw};
  auto b = read_block(r, st.spec->max_message_size / min_tx_size);
  r.expect_end();
  if (!r.ok())
    return make_error(errc::invalid_block, "not a serialized block");
  // The body first: an invalid block must not leave its header as our best.
  auto rejection = check_block(b, raw.size(), st.spec->max_message_size);
  if (rejection != block_rejection::none)
    return make_error(errc::invalid_block, "invalid block: " + to_string(rejection));
  auto next = accept_next_header(self, b.header);
  if (next.node == nullptr)
    return make_error(errc::invalid_block, next.error);
  auto hash = next.node->hash;
  auto now = self->clock().now();
  // Peer id 0 is never a connection's (the peer manager counts from 1): the local one.
  if (!st.download->announced(0, hash, now)
      || st.download->received(0, hash, std::move(b), now, raw)
             != block_download::arrival::expected)
    return make_error(errc::invalid_block, "already have it");
  ++st.blocks_received;
  st.log.info("block submitted",
              {{"height", std::to_string(next.node->height)}, {"hash", to_display_hex(hash)}});
  commit_ready(self);
  return hash;
}
/// A session completed its handshake: it joins the sync, asked for headers announcements and
/// low-bandwidth compact blocks.
void on_ready(sync_pointer self, peer_info& info) {
  auto& st = self->state;
  sync_peer p;
  p.session = info.session;
  p.info = std::move(info);
  auto id = p.info.id;
  st.peers.emplace(id, std::move(p));
  // Ask for new blocks to be announced as headers (BIP130); we take compact blocks, in
  // low-bandwidth mode (BIP152: we ask for them).
  self->send(st.peers.at(id).session, send_atom::value, p2p_message{sendheaders_message{}});
  self->send(st.peers.at(id).session, send_atom::value,
             p2p_message{sendcmpct_message{false, compact_block_version}});
  drive_headers(self);
}
/// A session ended: its download share and headers turn go to the others.
void on_closed(sync_pointer self, const peer_closed& closed) {
  auto& st = self->state;
  st.peers.erase(closed.id);
  st.hb_peers.remove(closed.id);
  st.tx_requests.disconnected(closed.id); // what it was asked for goes to other announcers
  if (st.headers_peer == closed.id)
    st.headers_peer.reset();
  if (st.download)
    st.download->remove_peer(closed.id);
  drive_headers(self);
  schedule_blocks(self);
}
/// inv: unknown transactions are asked for (actors/sync_txs.cpp); an unknown block is fetched by
/// the headers that lead to it (Bitcoin Core does the same).
void on_inv(sync_pointer self, std::uint64_t id, sync_peer& p, const inv_message& msg) {
  auto& st = self->state;
  if (!st.loaded)
    return;
  on_tx_announcements(self, id, p, msg);
  for (const auto& item : msg.items)
    if (item.type == static_cast<std::uint32_t>(inv_type::block)
        && st.tree->find(item.hash) == nullptr) {
      request_headers(self, p);
      return;
    }
}

/// Sends the handling times gathered so far to their histograms.
void flush_handling_times(sync_state& st) {
  st.metrics.observe(metric_names::headers_processing_seconds, {},
                     std::exchange(st.headers_times, {}));
  st.metrics.observe(metric_names::block_processing_seconds, {}, std::exchange(st.block_times, {}));
}

/// Runs `handle` and keeps its wall time in `times` for the histogram (flush_handling_times). The
/// real clock, not the actor's: this measures the CPU work, and virtual time would say zero.
template <class F>
void timed(sync_state& st, std::vector<double>& times, F&& handle) {
  constexpr std::size_t max_batched_times = 256;
  auto start = std::chrono::steady_clock::now();
  handle();
  std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  times.push_back(took.count());
  if (times.size() >= max_batched_times)
    flush_handling_times(st);
}

/// A message from a ready peer, by type.
void on_peer_message(sync_pointer self, std::uint64_t id, p2p_message& msg) {
  auto& st = self->state;
  auto i = st.peers.find(id);
  if (i == st.peers.end())
    return;
  auto& p = i->second;
  std::visit(
      [&](auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, headers_message>)
          timed(st, st.headers_times, [&] { on_headers(self, id, m); });
        else if constexpr (std::is_same_v<T, getheaders_message>)
          on_getheaders(self, id, p, m);
        else if constexpr (std::is_same_v<T, getblocks_message>)
          on_getblocks(self, p, m);
        else if constexpr (std::is_same_v<T, getdata_message>)
          on_getdata(self, id, p, m);
        else if constexpr (std::is_same_v<T, block_message>)
          timed(st, st.block_times, [&] { on_block(self, id, std::move(m)); });
        else if constexpr (std::is_same_v<T, notfound_message>)
          on_notfound(self, id, m);
        else if constexpr (std::is_same_v<T, sendheaders_message>)
          p.wants_headers = true;
        else if constexpr (std::is_same_v<T, inv_message>)
          on_inv(self, id, p, m);
        else if constexpr (std::is_same_v<T, tx_message>)
          on_tx(self, id, p, std::move(m));
        else if constexpr (std::is_same_v<T, feefilter_message>)
          p.feefilter.set(m.feerate);
        else if constexpr (std::is_same_v<T, sendcmpct_message>) {
          p.compact = p.compact || m.version == compact_block_version;
          // Its latest sendcmpct of our version decides how it hears of new blocks.
          if (m.version == compact_block_version)
            p.wants_cmpct_push = m.high_bandwidth;
        } else if constexpr (std::is_same_v<T, cmpctblock_message>)
          on_cmpctblock(self, id, p, m);
        else if constexpr (std::is_same_v<T, blocktxn_message>)
          on_blocktxn(self, id, p, m);
        else if constexpr (std::is_same_v<T, getblocktxn_message>)
          on_getblocktxn(self, id, p, m);
      },
      msg);
}
/// Once a second: headers requests that timed out, stalls, scheduling, progress, usefulness.
void on_tick(sync_pointer self) {
  expire_headers_requests(self);
  schedule_tx_requests(self);
  check_stalls(self);
  drive_headers(self);
  schedule_blocks(self);
  update_progress(self, false);
  report_usefulness(self);
  flush_handling_times(self->state);
  self->delayed_send(self, tick_interval, tick_atom::value);
}
} // namespace

void disconnect(sync_pointer self, std::uint64_t id, close_reason reason, std::string detail) {
  auto& st = self->state;
  auto i = st.peers.find(id);
  if (i == st.peers.end())
    return;
  log_fields fields{
      {"peer", std::to_string(id)}, {"remote", i->second.info.remote}, {"detail", detail}};
  if (reason == close_reason::unwanted) // not the peer's fault (the upload target)
    st.log.info("peer disconnected", std::move(fields));
  else
    st.log.warning("peer sent invalid data", std::move(fields));
  self->send(i->second.session, close_atom::value, reason, std::move(detail));
}
sync_actor::behavior_type sync_coordinator(sync_pointer self,
                                           std::shared_ptr<const chain_spec> spec,
                                           supervisor_actor parent, sync_options options) {
  auto& st = self->state;
  st.download_config = options.download;
  if (options.seed != 0)
    st.rng.seed(options.seed);
  st.log = logger{self->system(), "sync"};
  st.metrics = metrics_client{self->system()};
  st.spec = std::move(spec);
  st.upload = upload_target{{.target_bytes = options.max_upload_target,
                             .block_interval = st.spec->target_spacing,
                             .max_block_bytes = st.spec->max_message_size}};
  st.tree = std::make_unique<header_tree>(chain_params::from(*st.spec),
                                          make_genesis_block(*st.spec).header);
  // Find the storage actor, load the stored chain into the tree, then the best stored block.
  st.unix = unix_clock{self->clock()};
  st.parent = parent;
  st.security.find(
      self, parent, std::chrono::seconds{10}, [](const security_actor&) {},
      [self](const caf::error&) { self->state.log.debug("no security manager to report to"); });
  st.storage.find(
      self, parent, std::chrono::seconds{10}, [self](const storage_actor&) { load_chain(self); },
      [self](const caf::error& err) {
        self->state.log.error("storage not found", {{"reason", render_error(err)}});
        self->quit(err);
      });
  self->delayed_send(self, tick_interval, tick_atom::value);
  return {
      [self](put_atom, block_atom, const bytes& raw) { return submit_block(self, raw); },
      [self](get_atom, headers_atom, const hash256& hash) { return header_report(self, hash); },
      [self](get_atom, headers_atom, std::int32_t height) { return header_report(self, height); },
      [self](refresh_atom, std::uint64_t id) {
        auto& st = self->state;
        auto i = st.peers.find(id);
        if (st.loaded && i != st.peers.end() && !i->second.headers_requested)
          request_headers(self, i->second, true);
      },
      [self](subscribe_atom, const sync_subscriber_actor& who) {
        self->state.subscribers.push_back(who);
        self->state.announced_height.reset(); // tell everyone, including the newcomer
        update_progress(self, false);
      },
      [self](status_atom, status_verbosity v) { return sync_status(self, v); },
      [self](ready_atom, peer_info& info) { on_ready(self, info); },
      [self](closed_atom, const peer_closed& closed) { on_closed(self, closed); },
      [self](peer_msg_atom, std::uint64_t id, p2p_message& msg) { on_peer_message(self, id, msg); },
      [self](tick_atom) { on_tick(self); },
  };
}
} // namespace qtc
