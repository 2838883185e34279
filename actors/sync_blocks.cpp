// The block download: what to ask which peer for, blocks arriving, checking and committing them
// in height order in batches, announcing new tips, and serving blocks by getdata.
#include "actors/sync_coordinator.hpp"
#include "actors/sync_state.hpp"
#include "messages/errors.hpp"
#include "runtime/chain/block_check.hpp"

#include <algorithm>

namespace qtc {

namespace {

/// Batches being written at once (one on disk, one gathering is enough to keep the disk busy).
constexpr std::uint32_t max_writes_in_flight = 2;

/// The best-chain hashes from `from_height` to the tip, for the block download's target.
std::vector<hash256> best_chain_from(const header_tree& tree, std::uint32_t from_height) {
  std::vector<hash256> out;
  for (auto* n = &tree.best(); n != nullptr && n->height >= from_height; n = n->parent) {
    out.push_back(n->hash);
    if (n->height == 0)
      break;
  }
  std::reverse(out.begin(), out.end());
  return out;
}
/// The height up to which `p` can serve our best chain: what its headers showed, or else what
/// its version claimed (verified by the download: a peer without the block answers notfound
/// or times out).
std::uint32_t servable_height(const sync_state& st, sync_peer& p) {
  std::uint32_t h = 0;
  if (p.best_known != nullptr) {
    auto& cache = p.servable_fork;
    if (cache.best != &st.tree->best() || cache.known != p.best_known)
      cache = {&st.tree->best(), p.best_known,
               st.tree->fork_point(st.tree->best(), *p.best_known).height};
    h = cache.height;
  }
  if ((p.info.services & 1) != 0 && p.info.start_height > 0)
    h = std::max(h, std::min<std::uint32_t>(static_cast<std::uint32_t>(p.info.start_height),
                                            st.tree->best().height));
  return h;
}
/// While the headers sync continues through `p` (far behind: its last headers message was full),
/// it is not asked for blocks if another peer can serve blocks above our tip: a peer answers in
/// request order, so a getheaders queued behind 16 blocks waits for all of them, and the round
/// trip per 2,000 headers is what bounds the headers sync. Its blocks in flight still arrive.
/// The peers' reach is read from the block download (schedule_blocks has just set it).
bool kept_for_headers(const sync_state& st, std::uint64_t id, const sync_peer& p) {
  if (!p.headers_requested || !p.headers_continued || st.headers_peer != id)
    return false;
  for (const auto& [other, q] : st.peers)
    if (auto reach = st.download->peer_stats(other);
        other != id && reach && reach->best_height > st.commit_tip->height)
      return true;
  return false;
}
/// A valid block that became our new tip after initial sync was first delivered by `from`:
/// Core makes such a compact peer high bandwidth (the last three to do so), so that the next
/// block reaches us one round trip sooner. A local submission (no peer) changes nothing.
void note_first_delivery(sync_pointer self, const header_node& node, std::uint64_t from) {
  auto& st = self->state;
  auto i = st.peers.find(from);
  if (!st.synced_once || i == st.peers.end() || !i->second.compact || &node != &st.tree->best())
    return;
  // A peer that is already high bandwidth becomes the most recent one; no message.
  auto change = st.hb_peers.delivered_first(from, i->second.info.type != connection_type::inbound);
  auto tell = [&](std::optional<std::uint64_t> id, bool on) {
    if (!id)
      return;
    if (auto j = st.peers.find(*id); j != st.peers.end()) {
      st.log.info(on ? "high-bandwidth peer added" : "high-bandwidth peer dropped",
                  {{"peer", std::to_string(*id)}, {"remote", j->second.info.remote}});
      self->send(j->second.session, send_atom::value,
                 p2p_message{sendcmpct_message{on, compact_block_version}});
    }
  };
  tell(change.enable, true);
  tell(change.disable, false);
}
} // namespace

/// Announces a committed block (a new one, or our tip once our sync completes) to every peer not
/// known to have it: pushed as cmpctblock to peers that asked for high-bandwidth mode (`b`: the
/// block, given for the new tip only), BIP130 headers where asked, inv otherwise.
void announce(sync_pointer self, const header_node& node, const block* b) {
  auto& st = self->state;
  for (auto& [id, p] : st.peers) {
    if (p.best_known != nullptr && p.best_known->chain_work >= node.chain_work)
      continue; // it has it (it probably sent it)
    if (b != nullptr && p.wants_cmpct_push) {
      ++st.cmpct_served;
      ++st.cmpct_announced;
      self->send(p.session, send_atom::value, p2p_message{make_compact_block(*b, st.rng())});
    } else if (p.wants_headers)
      self->send(p.session, send_atom::value, p2p_message{headers_message{{node.header}}});
    else
      self->send(p.session, send_atom::value,
                 p2p_message{inv_message{
                     {inv_item{static_cast<std::uint32_t>(inv_type::block), node.hash}}}});
  }
}
/// Validates the blocks that are next in height order and hands them to storage in batches: all
/// that are ready (up to sync_commit_batch_blocks / sync_commit_batch_bytes) go in one durable
/// transaction, so that a disk with slow syncs costs one sync per batch, not per block, while a
/// block is still only reported committed once it is on disk.
void commit_ready(sync_pointer self) {
  auto& st = self->state;
  while (st.writes_in_flight < max_writes_in_flight) {
    std::vector<stored_block> batch;
    std::vector<const header_node*> nodes;
    std::size_t batch_bytes = 0;
    std::optional<block> last_block;
    while (batch.size() < sync_commit_batch_blocks && batch_bytes < sync_commit_batch_bytes) {
      auto next = st.download->take_next();
      if (!next)
        break;
      const auto* node = st.tree->find(next->hash);
      // Stored as it arrived (the wire decoder takes only the canonical encoding); a block
      // rebuilt from a compact block has no bytes yet.
      auto raw = next->raw.empty() ? serialize(next->block) : std::move(next->raw);
      auto rejection = check_block(next->block, raw.size(), st.spec->max_message_size);
      if (node == nullptr || rejection != block_rejection::none) {
        ++st.blocks_rejected;
        st.download->rejected(next->height, next->from);
        disconnect(self, next->from, close_reason::invalid_data,
                   "invalid block at height " + std::to_string(next->height) + ": "
                       + (node == nullptr ? std::string{"unknown header"} : to_string(rejection)));
        break; // what follows the rejected block cannot be committed before it is replaced
      }
      st.pool.remove_for_block(next->block); // its transactions are confirmed now
      forget_tx_requests(self, next->block);
      note_first_delivery(self, *node, next->from);
      if (st.reported_synced)
        last_block = next->block; // announced by cmpctblock to high-bandwidth peers
      batch_bytes += raw.size();
      batch.push_back(stored_block{node->hash, std::move(raw)});
      nodes.push_back(node);
      st.commit_tip = node;
    }
    if (batch.empty())
      return;
    ++st.writes_in_flight;
    auto was_synced = st.reported_synced;
    self->request(st.storage.get(), caf::infinite, put_atom::value, block_atom::value,
                  std::move(batch), true)
        .then(
            [self, nodes = std::move(nodes), was_synced, last_block = std::move(last_block)](bool) {
              auto& st = self->state;
              --st.writes_in_flight;
              st.committed = nodes.back();
              if (was_synced) {
                for (const auto* node : nodes)
                  announce(self, *node,
                           node == nodes.back() && last_block ? &*last_block : nullptr);
                st.tip_announced = nodes.back();
              }
              commit_ready(self);
              schedule_blocks(self); // the window moved: more may be requested
              update_progress(self, false);
            },
            [self](const caf::error& err) {
              self->state.log.error("cannot store blocks", {{"reason", render_error(err)}});
              self->quit(err);
            });
  }
}
/// Points the block download at the best header chain if it moved.
void update_target(sync_pointer self) {
  auto& st = self->state;
  const auto& best = st.tree->best();
  if (st.target_tip != &best) {
    // Download what lies between the best header and the last block we committed (or are
    // committing) on its chain.
    const auto& base = st.tree->fork_point(best, *st.commit_tip);
    st.target_first = base.height + 1;
    st.target_tip = &best;
    st.download->set_target(st.target_first, best_chain_from(*st.tree, st.target_first));
  }
}
void schedule_blocks(sync_pointer self) {
  auto& st = self->state;
  if (!st.loaded)
    return;
  update_target(self);
  const auto& best = st.tree->best();
  if (st.download->next_height() >= st.download->end_height())
    return;
  auto now = self->clock().now();
  for (auto& [id, p] : st.peers)
    st.download->set_peer(id, servable_height(st, p));
  for (auto& [id, p] : st.peers) {
    if (kept_for_headers(st, id, p))
      continue;
    auto hashes = st.download->assign(id, now);
    if (hashes.empty())
      continue;
    getdata_message gd;
    for (const auto& h : hashes)
      gd.items.push_back(inv_item{static_cast<std::uint32_t>(inv_type::block), h});
    // The one block past our tip, from a peer that speaks compact blocks: ask for it compact
    // (Bitcoin Core does the same when it fetches a newly announced block directly).
    const auto* node = st.tree->find(hashes.front());
    if (p.compact && hashes.size() == 1 && node != nullptr && node == &best
        && node->height == st.commit_tip->height + 1) {
      gd.items[0].type = static_cast<std::uint32_t>(inv_type::compact_block);
      p.cmpct_requested = node->hash;
      p.cmpct_pending.reset();
    }
    self->send(p.session, send_atom::value, p2p_message{std::move(gd)});
  }
}
void on_block(sync_pointer self, std::uint64_t id, block_message&& msg) {
  auto& st = self->state;
  if (!st.loaded)
    return;
  auto hash = block_hash(msg.block.header);
  auto r = st.download->received(id, hash, std::move(msg.block), self->clock().now(),
                                 std::move(msg.raw));
  if (r != block_download::arrival::expected) {
    ++st.unrequested_blocks; // unsolicited or late: ignored (announcements come as headers)
    return;
  }
  ++st.blocks_received;
  if (auto i = st.peers.find(id); i != st.peers.end())
    ++i->second.useful_blocks;
  commit_ready(self);
  schedule_blocks(self);
}
void on_notfound(sync_pointer self, std::uint64_t id, const notfound_message& msg) {
  auto now = self->clock().now();
  for (const auto& item : msg.items)
    if (item.type == static_cast<std::uint32_t>(inv_type::block)
        || item.type == static_cast<std::uint32_t>(inv_type::compact_block))
      self->state.download->not_found(id, item.hash, now);
    else if (item.type == static_cast<std::uint32_t>(inv_type::tx))
      on_tx_not_found(self, id, item.hash);
  schedule_blocks(self);
}
void check_stalls(sync_pointer self) {
  auto& st = self->state;
  if (!st.loaded)
    return;
  for (const auto& slow : st.download->check(self->clock().now()))
    if (auto i = st.peers.find(slow.peer); i != st.peers.end()) {
      auto detail = slow.stalling ? "stalled the block download window at height "
                                  : "a block request timed out at height ";
      self->send(i->second.session, close_atom::value, close_reason::stalling,
                 detail + std::to_string(slow.height));
    }
}

} // namespace qtc
