#include "actors/sync_coordinator.hpp"

#include "actors/support/metric_names.hpp"
#include "actors/support/status_fields.hpp"
#include "messages/errors.hpp"
#include "messages/primitives/hex.hpp"
#include "runtime/chain/block_check.hpp"
#include "runtime/chain/genesis.hpp"

#include <algorithm>
#include <optional>

namespace qtc {

namespace {

constexpr auto tick_interval = std::chrono::seconds{1};
constexpr auto progress_interval = std::chrono::seconds{5};
/// A getheaders unanswered this long moves the headers sync to another peer.
constexpr auto headers_timeout = std::chrono::seconds{60};
/// Headers messages that do not connect to our tree before the peer counts as misbehaving
/// (Bitcoin Core's MAX_NUM_UNCONNECTING_HEADERS_MSGS).
constexpr std::uint32_t max_unconnecting_headers = 10;
/// Batches being written at once (one on disk, one gathering is enough to keep the disk busy).
constexpr std::uint32_t max_writes_in_flight = 2;
constexpr std::size_t max_batch_blocks = 1000;
constexpr std::size_t max_batch_bytes = std::size_t{32} << 20;
/// A transaction asked for and not delivered this long may be asked of another announcer (Core's
/// GETDATA_TX_INTERVAL).
constexpr auto tx_request_timeout = std::chrono::seconds{60};
/// Block hashes in one getblocks answer (Bitcoin Core's limit).
constexpr std::uint32_t max_getblocks_results = 500;

/// Whether `node` is on the best header chain.
bool on_best_chain(const header_tree& tree, const header_node& node) {
  return tree.ancestor(tree.best(), node.height) == &node;
}

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

void disconnect(sync_pointer self, std::uint64_t id, close_reason reason, std::string detail) {
  auto& st = self->state;
  auto i = st.peers.find(id);
  if (i == st.peers.end())
    return;
  st.log.warning(
      "peer sent invalid data",
      {{"peer", std::to_string(id)}, {"remote", i->second.info.remote}, {"detail", detail}});
  self->send(i->second.session, close_atom::value, reason, std::move(detail));
}

/// Asks `p` for the headers after our best; `from_parent`: after our best's parent, so that a
/// peer that has our best header sends at least that one (the peer manager's probe of a peer
/// that looks behind, as Core's chain-sync timeout does).
void request_headers(sync_pointer self, sync_peer& p, bool from_parent = false) {
  auto& st = self->state;
  getheaders_message gh;
  gh.version = static_cast<std::uint32_t>(st.spec->protocol_version);
  const auto& best = st.tree->best();
  gh.locator = st.tree->locator(from_parent && best.parent != nullptr ? *best.parent : best);
  p.headers_requested = true;
  p.asked_once = true;
  p.headers_sent = self->clock().now();
  self->send(p.session, send_atom::value, p2p_message{std::move(gh)});
}

/// While far behind, one peer at a time serves headers (the others would send the same ones);
/// once the headers peer has nothing more, every peer is asked once, to find any longer chain.
void drive_headers(sync_pointer self) {
  auto& st = self->state;
  if (!st.loaded || st.peers.empty())
    return;
  if (st.headers_peer) {
    auto i = st.peers.find(*st.headers_peer);
    if (i != st.peers.end() && i->second.headers_requested)
      return;
    st.headers_peer.reset();
  }
  // Prefer the peer that announced the highest start height and was not asked yet.
  sync_peer* pick = nullptr;
  for (auto& [id, p] : st.peers)
    if (!p.asked_once && (pick == nullptr || p.info.start_height > pick->info.start_height))
      pick = &p;
  if (pick == nullptr)
    return;
  st.headers_peer = pick->info.id;
  request_headers(self, *pick);
}

void schedule_blocks(sync_pointer self);
void update_progress(sync_pointer self, bool force);

/// The height up to which `p` can serve our best chain: what its headers showed, or else what
/// its version claimed (verified by the download: a peer without the block answers notfound
/// or times out).
std::uint32_t servable_height(const sync_state& st, const sync_peer& p) {
  std::uint32_t h = 0;
  if (p.best_known != nullptr)
    h = st.tree->fork_point(st.tree->best(), *p.best_known).height;
  if ((p.info.services & 1) != 0 && p.info.start_height > 0)
    h = std::max(h, std::min<std::uint32_t>(static_cast<std::uint32_t>(p.info.start_height),
                                            st.tree->best().height));
  return h;
}

/// Announces a newly committed block to every peer: pushed as cmpctblock to peers that asked for
/// high-bandwidth mode (`b`: the block, given for the new tip only), BIP130 headers where asked,
/// inv otherwise.
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

/// Validates the blocks that are next in height order and hands them to storage in batches: all
/// that are ready (up to max_batch_blocks / max_batch_bytes) go in one durable transaction, so
/// that a disk with slow syncs costs one sync per batch, not per block, while a block is still
/// only reported committed once it is on disk.
void commit_ready(sync_pointer self) {
  auto& st = self->state;
  while (st.writes_in_flight < max_writes_in_flight) {
    std::vector<stored_block> batch;
    std::vector<const header_node*> nodes;
    std::size_t batch_bytes = 0;
    std::optional<block> last_block;
    while (batch.size() < max_batch_blocks && batch_bytes < max_batch_bytes) {
      auto next = st.download->take_next();
      if (!next)
        break;
      const auto* node = st.tree->find(next->hash);
      auto raw = serialize(next->block);
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
              if (was_synced)
                for (const auto* node : nodes)
                  announce(self, *node,
                           node == nodes.back() && last_block ? &*last_block : nullptr);
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
  for (auto& [id, p] : st.peers) {
    st.download->set_peer(id, servable_height(st, p));
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
  auto r = st.download->received(id, hash, std::move(msg.block), self->clock().now());
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
      self->state.txs_requested.erase(item.hash);
  schedule_blocks(self);
}

void on_inv(sync_pointer self, std::uint64_t id, const inv_message& msg) {
  auto& st = self->state;
  auto i = st.peers.find(id);
  if (i == st.peers.end() || !st.loaded)
    return;
  auto& p = i->second;
  // Unknown transactions: ask the first announcer.
  getdata_message wanted;
  auto now = self->clock().now();
  for (const auto& item : msg.items) {
    if (item.type != static_cast<std::uint32_t>(inv_type::tx))
      continue;
    p.known.insert(item.hash);
    if (st.pool.contains(item.hash) || st.txs_requested.contains(item.hash)
        || st.txs_requested.size() >= st.pool.bounds().max_count)
      continue; // have it, asked for it, or a pool's worth of requests outstanding
    st.txs_requested.emplace(item.hash, now);
    wanted.items.push_back(item);
  }
  if (!wanted.items.empty())
    self->send(p.session, send_atom::value, p2p_message{std::move(wanted)});
  for (const auto& item : msg.items)
    if (item.type == static_cast<std::uint32_t>(inv_type::block)
        && st.tree->find(item.hash) == nullptr) {
      // An unknown block: fetch the headers that lead to it (Bitcoin Core does the same).
      request_headers(self, p);
      return;
    }
}

/// Announces a transaction now in the pool to every other peer that wants it.
void relay_tx(sync_pointer self, std::uint64_t from, const tx_pool::entry& e) {
  auto& st = self->state;
  for (auto& [id, p] : st.peers) {
    if (id == from || !p.info.relay || p.known.contains(e.id)
        || !p.feefilter.should_announce(e.rate))
      continue;
    p.known.insert(e.id);
    self->send(
        p.session, send_atom::value,
        p2p_message{inv_message{{inv_item{static_cast<std::uint32_t>(inv_type::tx), e.id}}}});
  }
}

void on_tx(sync_pointer self, std::uint64_t id, sync_peer& p, tx_message&& msg) {
  auto& st = self->state;
  if (!st.loaded)
    return;
  auto r = st.pool.add(std::move(msg.tx));
  st.txs_requested.erase(r.id);
  p.known.insert(r.id);
  if (r.rejection == tx_rejection::already_have)
    return;
  if (r.rejection != tx_rejection::none) {
    // Policy, conflicts and a full pool are not the peer's fault; nor is an unchecked one.
    ++st.txs_rejected;
    st.log.debug("transaction not accepted",
                 {{"peer", std::to_string(id)}, {"reason", to_string(r.rejection)}});
    return;
  }
  ++st.txs_accepted;
  relay_tx(self, id, *st.pool.find(r.id));
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

void store_headers(sync_pointer self, std::vector<stored_header> fresh) {
  if (fresh.empty())
    return;
  self->request(self->state.storage.get(), caf::infinite, put_atom::value, headers_atom::value,
                std::move(fresh))
      .then([](bool) {},
            [self](const caf::error& err) {
              self->state.log.error("cannot store headers", {{"reason", render_error(err)}});
              self->quit(err);
            });
}

/// A block (its header) that arrived without a request and claims to be the one after our tip
/// (a high-bandwidth cmpctblock, a local submission): the header goes through the header tree
/// and is stored like any header. The node if it is valid and is now the best header, one past
/// the commit point; else the reason (for a rejection, whether the sender is at fault).
struct next_block_header {
  const header_node* node = nullptr;
  std::string error;
  bool invalid = false; ///< the header itself is invalid (not merely not the next block)
};

next_block_header accept_next_header(sync_pointer self, const block_header& h) {
  auto& st = self->state;
  next_block_header out;
  if (h.prev_block != st.commit_tip->hash) {
    out.error = "not the next block: it extends " + to_display_hex(h.prev_block) + ", our tip is "
                + to_display_hex(st.commit_tip->hash);
    return out;
  }
  auto r = st.tree->accept(h, st.unix.now());
  if (r.rejection != header_rejection::none) {
    out.error = "invalid header: " + to_string(r.rejection);
    out.invalid = r.rejection != header_rejection::time_too_new;
    return out;
  }
  if (!r.duplicate) {
    ++st.headers_received;
    store_headers(self, {stored_header{h, r.node->height}});
  }
  if (r.node != &st.tree->best()) {
    out.error = "not the next block: another header at its height is our best";
    return out;
  }
  update_target(self);
  out.node = r.node;
  return out;
}

void on_headers(sync_pointer self, std::uint64_t id, const headers_message& msg) {
  auto& st = self->state;
  auto i = st.peers.find(id);
  if (i == st.peers.end() || !st.loaded)
    return;
  auto& p = i->second;
  p.headers_requested = false;
  if (msg.headers.empty()) {
    drive_headers(self);
    return;
  }
  auto now = st.unix.now();
  std::vector<stored_header> fresh;
  // Set when a header is invalid: the peer is disconnected once the valid headers before it,
  // which the tree has already taken, are stored too (else the store misses them for good: a
  // duplicate is never stored again).
  std::optional<std::pair<close_reason, std::string>> violation;
  for (std::size_t k = 0; k < msg.headers.size(); ++k) {
    const auto& h = msg.headers[k];
    auto r = st.tree->accept(h, now);
    if (r.rejection == header_rejection::unknown_parent) {
      if (k == 0) {
        // Maybe we are simply behind the peer's announcement: ask from our tip.
        if (++p.unconnecting_headers > max_unconnecting_headers)
          return disconnect(self, id, close_reason::misbehaviour,
                            "too many headers messages that do not connect");
        request_headers(self, p);
        return;
      }
      violation.emplace(close_reason::invalid_data, "non-continuous headers");
      break;
    }
    if (r.rejection == header_rejection::time_too_new)
      break; // may become valid later; not the peer's fault (Bitcoin Core does not punish it)
    if (r.rejection != header_rejection::none) {
      violation.emplace(close_reason::invalid_data,
                        "invalid header at height "
                            + std::to_string(st.tree->find(h.prev_block) != nullptr
                                                 ? st.tree->find(h.prev_block)->height + 1
                                                 : 0)
                            + ": " + to_string(r.rejection));
      break;
    }
    if (p.best_known == nullptr || r.node->chain_work > p.best_known->chain_work)
      p.best_known = r.node;
    if (!r.duplicate) {
      fresh.push_back(stored_header{h, r.node->height});
      ++p.useful_headers;
    }
  }
  st.headers_received += fresh.size();
  store_headers(self, std::move(fresh));
  if (violation)
    return disconnect(self, id, violation->first, std::move(violation->second));
  if (msg.headers.size() == max_headers_results) {
    request_headers(self, p); // there is more
  } else if (st.headers_peer == id) {
    st.headers_peer.reset();
  }
  drive_headers(self);
  schedule_blocks(self);
}

/// The first locator entry on our best chain (genesis if none is): where the peer's chain and
/// ours part.
const header_node* locator_fork(const sync_state& st, const std::vector<hash256>& locator) {
  for (const auto& hash : locator)
    if (auto* n = st.tree->find(hash); n != nullptr && on_best_chain(*st.tree, *n))
      return n;
  return &st.tree->genesis();
}

void on_getheaders(sync_pointer self, sync_peer& p, const getheaders_message& msg) {
  auto& st = self->state;
  if (!st.loaded)
    return;
  const header_node* fork = locator_fork(st, msg.locator);
  // Serve only headers whose blocks we hold: a peer must be able to download what we announce.
  const header_node* top = st.committed;
  if (top == nullptr || top->height <= fork->height || !on_best_chain(*st.tree, *top)) {
    self->send(p.session, send_atom::value, p2p_message{headers_message{}});
    return;
  }
  auto last = std::min<std::uint32_t>(top->height, fork->height + max_headers_results);
  std::vector<block_header> headers;
  for (auto* n = st.tree->ancestor(*top, last); n != nullptr && n != fork; n = n->parent)
    headers.push_back(n->header);
  std::reverse(headers.begin(), headers.end());
  // Stop at the requested hash, if it is among them.
  if (msg.stop != hash256{})
    for (std::size_t k = 0; k < headers.size(); ++k)
      if (block_hash(headers[k]) == msg.stop) {
        headers.resize(k + 1);
        break;
      }
  self->send(p.session, send_atom::value, p2p_message{headers_message{std::move(headers)}});
}

/// getblocks (Bitcoin Core's answer): an `inv` of the blocks of our best chain after the
/// locator's fork point, at most 500, only blocks we hold, ending before `stop` if it is among
/// them (Core stops when it reaches hashStop without listing it). Nothing is sent when there is
/// nothing to list. (Core also remembers the last hash to send the tip once the peer asks for
/// it, for chains longer than 500 blocks; peers here sync by headers, so this is not done.)
void on_getblocks(sync_pointer self, sync_peer& p, const getblocks_message& msg) {
  auto& st = self->state;
  const header_node* top = st.committed;
  if (!st.loaded || top == nullptr || !on_best_chain(*st.tree, *top))
    return;
  const header_node* fork = locator_fork(st, msg.locator);
  if (top->height <= fork->height)
    return;
  auto last = std::min<std::uint32_t>(top->height, fork->height + max_getblocks_results);
  std::vector<inv_item> items;
  for (auto* n = st.tree->ancestor(*top, last); n != nullptr && n != fork; n = n->parent)
    items.push_back(inv_item{static_cast<std::uint32_t>(inv_type::block), n->hash});
  std::reverse(items.begin(), items.end());
  if (msg.stop != hash256{})
    for (std::size_t k = 0; k < items.size(); ++k)
      if (items[k].hash == msg.stop) {
        items.resize(k);
        break;
      }
  if (!items.empty())
    self->send(p.session, send_atom::value, p2p_message{inv_message{std::move(items)}});
}

/// Decodes a block the store handed out (it was checked before it was stored).
std::optional<block> decode_stored(const sync_state& st, const bytes& raw) {
  byte_reader r{raw};
  auto b = read_block(r, st.spec->max_message_size / min_tx_size);
  r.expect_end();
  if (!r.ok())
    return std::nullopt;
  return b;
}

/// Whether `hash` is a stored best-chain block at most `depth` below our best block.
bool recent_block(const sync_state& st, const hash256& hash, std::uint32_t depth) {
  const auto* node = st.tree->find(hash);
  return node != nullptr && st.committed != nullptr && node->height <= st.committed->height
         && node->height + depth >= st.committed->height && on_best_chain(*st.tree, *node);
}

/// getdata type 4: a cmpctblock for a recent block (Core: within 5 of the tip), else the block.
void serve_compact(sync_pointer self, sync_peer& p, const inv_item& item) {
  auto& st = self->state;
  auto session = p.session;
  bool recent = recent_block(st, item.hash, 5);
  self->request(st.storage.get(), caf::infinite, get_atom::value, block_atom::value, item.hash)
      .then(
          [self, session, recent](bytes& raw) {
            auto& st = self->state;
            auto b = recent ? decode_stored(st, raw) : std::nullopt;
            if (!b) {
              self->send(session, send_atom::value, "block", raw);
              return;
            }
            ++st.cmpct_served;
            self->send(session, send_atom::value, p2p_message{make_compact_block(*b, st.rng())});
          },
          [self, session, item](const caf::error&) {
            notfound_message nf;
            nf.items.push_back(item);
            self->send(session, send_atom::value, p2p_message{std::move(nf)});
          });
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

void on_getdata(sync_pointer self, sync_peer& p, const getdata_message& msg) {
  auto& st = self->state;
  notfound_message missing_txs;
  for (const auto& item : msg.items) {
    if (item.type == static_cast<std::uint32_t>(inv_type::tx)) {
      if (const auto* e = st.pool.find(item.hash)) {
        p.known.insert(item.hash);
        self->send(p.session, send_atom::value, p2p_message{tx_message{e->tx}});
      } else {
        missing_txs.items.push_back(item);
      }
      continue;
    }
    if (item.type == static_cast<std::uint32_t>(inv_type::compact_block)) {
      serve_compact(self, p, item);
      continue;
    }
    if (item.type != static_cast<std::uint32_t>(inv_type::block))
      continue;
    auto session = p.session;
    self->request(st.storage.get(), caf::infinite, get_atom::value, block_atom::value, item.hash)
        .then([self, session](bytes& raw) { self->send(session, send_atom::value, "block", raw); },
              [self, session, item](const caf::error&) {
                notfound_message nf;
                nf.items.push_back(item);
                self->send(session, send_atom::value, p2p_message{std::move(nf)});
              });
  }
  if (!missing_txs.items.empty())
    self->send(p.session, send_atom::value, p2p_message{std::move(missing_txs)});
}

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
  st.metrics.gauge(metric_names::sync_progress, {}, progress);
  auto now = self->clock().now();
  auto synced = blocks == headers && !st.peers.empty() && target == headers;
  if (synced) {
    if (!st.reported_synced) {
      st.reported_synced = true;
      st.synced_once = true;
      st.log.info("sync complete", {{"height", std::to_string(blocks)},
                                    {"tip", to_display_hex(st.committed->hash)}});
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
      || st.download->received(0, hash, std::move(b), now) != block_download::arrival::expected)
    return make_error(errc::invalid_block, "already have it");
  ++st.blocks_received;
  st.log.info("block submitted",
              {{"height", std::to_string(next.node->height)}, {"hash", to_display_hex(hash)}});
  commit_ready(self);
  return hash;
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
  report(r, "state", blocks == headers ? "synced" : "syncing");
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
  report(r, "compact-rebuilt", st.cmpct_rebuilt);
  report(r, "compact-from-pool", st.cmpct_from_pool);
  report(r, "compact-requested-txs", st.cmpct_requested_txs);
  report(r, "compact-fallbacks", st.cmpct_fallbacks);
  report(r, "compact-served", st.cmpct_served);
  report(r, "compact-announced", st.cmpct_announced);
  report(r, "compact-unsolicited", st.cmpct_unsolicited);
  report(r, "high-bandwidth-peers", st.hb_peers.peers().size());
  if (v != status_verbosity::info)
    report(r, "peer-state", peers_status(self));
  return r;
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
  if (st.headers_peer == closed.id)
    st.headers_peer.reset();
  if (st.download)
    st.download->remove_peer(closed.id);
  drive_headers(self);
  schedule_blocks(self);
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
          on_headers(self, id, m);
        else if constexpr (std::is_same_v<T, getheaders_message>)
          on_getheaders(self, p, m);
        else if constexpr (std::is_same_v<T, getblocks_message>)
          on_getblocks(self, p, m);
        else if constexpr (std::is_same_v<T, getdata_message>)
          on_getdata(self, p, m);
        else if constexpr (std::is_same_v<T, block_message>)
          on_block(self, id, std::move(m));
        else if constexpr (std::is_same_v<T, notfound_message>)
          on_notfound(self, id, m);
        else if constexpr (std::is_same_v<T, sendheaders_message>)
          p.wants_headers = true;
        else if constexpr (std::is_same_v<T, inv_message>)
          on_inv(self, id, m);
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
  auto& st = self->state;
  auto now = self->clock().now();
  for (auto& [id, p] : st.peers)
    if (p.headers_requested && now - p.headers_sent > headers_timeout) {
      st.log.info("headers request timed out; asking another peer", {{"peer", std::to_string(id)}});
      p.headers_requested = false;
      if (st.headers_peer == id)
        st.headers_peer.reset();
    }
  std::erase_if(st.txs_requested,
                [&](const auto& kv) { return now - kv.second > tx_request_timeout; });
  check_stalls(self);
  drive_headers(self);
  schedule_blocks(self);
  update_progress(self, false);
  report_usefulness(self);
  self->delayed_send(self, tick_interval, tick_atom::value);
}

} // namespace

sync_actor::behavior_type sync_coordinator(sync_pointer self,
                                           std::shared_ptr<const chain_spec> spec,
                                           supervisor_actor parent,
                                           block_download::config download) {
  auto& st = self->state;
  st.download_config = download;
  st.log = logger{self->system(), "sync"};
  st.metrics = metrics_client{self->system()};
  st.spec = std::move(spec);
  st.tree = std::make_unique<header_tree>(chain_params::from(*st.spec),
                                          make_genesis_block(*st.spec).header);
  // Find the storage actor, load the stored chain into the tree, then the best stored block.
  st.unix = unix_clock{self->clock()};
  st.storage.find(
      self, parent, std::chrono::seconds{10}, [self](const storage_actor&) { load_chain(self); },
      [self](const caf::error& err) {
        self->state.log.error("storage not found", {{"reason", render_error(err)}});
        self->quit(err);
      });
  self->delayed_send(self, tick_interval, tick_atom::value);
  return {
      [self](put_atom, block_atom, const bytes& raw) { return submit_block(self, raw); },
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
