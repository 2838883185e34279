// BIP152 compact blocks: rebuilding a cmpctblock from the pool (with getblocktxn for what is
// missing), taking high-bandwidth pushes, and serving cmpctblock and blocktxn.
#include "actors/sync_state.hpp"

namespace qtc {

namespace {

/// Decodes a block the store handed out (it was checked before it was stored).
std::optional<block> decode_stored(const sync_state& st, const bytes& raw) {
  byte_reader r{raw};
  auto b = read_block(r, st.spec->max_message_size / min_tx_size);
  r.expect_end();
  if (!r.ok())
    return std::nullopt;
  return b;
}
/// Acts on a compact block's reconstruction state (after cmpctblock or blocktxn).
void after_reconstruction(sync_pointer self, std::uint64_t id, sync_peer& p, partial_block pb,
                          partial_block::status status) {
  auto& st = self->state;
  switch (status) {
  case partial_block::status::complete:
    ++st.cmpct_rebuilt;
    st.cmpct_from_pool += pb.from_pool();
    on_block(self, id, block_message{pb.take()});
    return;
  case partial_block::status::need_txs: {
    auto request = pb.request();
    st.cmpct_requested_txs += request.indexes.size();
    p.cmpct_pending = std::move(pb);
    self->send(p.session, send_atom::value, p2p_message{std::move(request)});
    return;
  }
  case partial_block::status::failed:
    // A short-id collision or a merkle mismatch: the block itself, from the same peer (the
    // download still counts it as in flight from it).
    ++st.cmpct_fallbacks;
    self->send(p.session, send_atom::value,
               p2p_message{getdata_message{
                   {{inv_item{static_cast<std::uint32_t>(inv_type::block), pb.hash()}}}}});
    return;
  case partial_block::status::invalid:
    return disconnect(self, id, close_reason::misbehaviour, "invalid compact block messages");
  }
}
} // namespace

/// Whether `hash` is a stored best-chain block at most `depth` below our best block.
bool recent_block(const sync_state& st, const hash256& hash, std::uint32_t depth) {
  const auto* node = st.tree->find(hash);
  return node != nullptr && st.committed != nullptr && node->height <= st.committed->height
         && node->height + depth >= st.committed->height && on_best_chain(*st.tree, *node);
}

/// The answer to getdata type 4 for a stored block: a cmpctblock if the block is recent (Core:
/// within 5 of the tip), else the block itself.
peer_answer compact_answer(sync_pointer self, bytes raw, bool recent) {
  auto& st = self->state;
  auto b = recent ? decode_stored(st, raw) : std::nullopt;
  if (!b)
    return {"block", std::move(raw)};
  ++st.cmpct_served;
  return {"cmpctblock", encode_payload(p2p_message{make_compact_block(*b, st.rng())})};
}
/// getblocktxn: the transactions of a recent block (Core: within 10 of the tip), else the block.
void on_getblocktxn(sync_pointer self, std::uint64_t id, sync_peer& p,
                    const getblocktxn_message& msg) {
  auto& st = self->state;
  if (!st.loaded || st.tree->find(msg.block_hash) == nullptr)
    return;
  auto session = p.session;
  bool recent = recent_block(st, msg.block_hash, 10);
  self->request(st.storage.get(), caf::infinite, get_atom::value, block_atom::value, msg.block_hash)
      .then(
          [self, id, session, recent, msg](bytes& raw) {
            auto b = recent ? decode_stored(self->state, raw) : std::nullopt;
            if (!b) {
              self->send(session, send_atom::value, "block", raw);
              return;
            }
            auto answer = answer_getblocktxn(*b, msg);
            if (!answer)
              return disconnect(self, id, close_reason::misbehaviour,
                                "getblocktxn for an index outside the block");
            self->send(session, send_atom::value, p2p_message{std::move(*answer)});
          },
          [](const caf::error&) {});
}
void on_cmpctblock(sync_pointer self, std::uint64_t id, sync_peer& p,
                   const cmpctblock_message& msg) {
  auto& st = self->state;
  if (!st.loaded)
    return;
  auto hash = block_hash(msg.header);
  if (p.cmpct_requested && *p.cmpct_requested == hash) {
    p.cmpct_requested.reset();
  } else {
    // Unasked (a high-bandwidth push): only the block right after our tip, and only while no
    // other compact block of this peer is being rebuilt (Core: one partial block per peer).
    if (!p.compact || p.cmpct_pending || msg.header.prev_block != st.commit_tip->hash)
      return;
    auto next = accept_next_header(self, msg.header);
    if (next.invalid)
      return disconnect(self, id, close_reason::invalid_data, "cmpctblock: " + next.error);
    if (next.node == nullptr)
      return;
    if (p.best_known == nullptr || next.node->chain_work > p.best_known->chain_work)
      p.best_known = next.node;
    // Claimed for this peer: the download will not request it elsewhere, and times it out.
    if (!st.download->announced(id, hash, self->clock().now()))
      return; // already buffered, or no longer the commit point's block
    ++st.cmpct_unsolicited;
  }
  partial_block pb;
  auto status = pb.init(msg, st.pool, st.spec->max_message_size / min_tx_size);
  after_reconstruction(self, id, p, std::move(pb), status);
}
void on_blocktxn(sync_pointer self, std::uint64_t id, sync_peer& p, const blocktxn_message& msg) {
  auto& st = self->state;
  if (!st.loaded)
    return;
  if (!p.cmpct_pending || p.cmpct_pending->hash() != msg.block_hash)
    return; // not asked for (or no longer): ignored, as Core does
  auto pb = std::move(*p.cmpct_pending);
  p.cmpct_pending.reset();
  auto status = pb.fill(msg);
  after_reconstruction(self, id, p, std::move(pb), status);
}
} // namespace qtc
