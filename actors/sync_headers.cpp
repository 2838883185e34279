// Headers first: asking one peer (then every peer) for headers, taking them into the header
// tree and the store; serving getheaders and getblocks from our best chain.
#include "actors/sync_state.hpp"
#include "messages/errors.hpp"
#include "messages/primitives/hex.hpp"

#include <algorithm>
#include <utility>

namespace qtc {

namespace {

/// A getheaders unanswered this long moves the headers sync to another peer.
constexpr auto headers_timeout = std::chrono::seconds{60};
/// Headers messages that do not connect to our tree before the peer counts as misbehaving
/// (Bitcoin Core's MAX_NUM_UNCONNECTING_HEADERS_MSGS).
constexpr std::uint32_t max_unconnecting_headers = 10;
/// Block hashes in one getblocks answer (Bitcoin Core's limit).
constexpr std::uint32_t max_getblocks_results = 500;
/// Once every peer has been asked, a best header that stayed the same this long while it is
/// older than stale_tip_age starts another round of asking every peer (one at a time; the wait
/// doubles after each round, up to max_stale_headers_interval, and starts over when our best
/// header changes, so a node idle at an old tip asks rarely): a peer
/// that had nothing when we asked may have synced since, and a node announces only blocks that
/// are new to it, never a chain it downloaded (the simulator found fresh nodes whose peers were
/// all empty at the handshake waiting for the 20-minute poor-peer replacement). Bitcoin Core
/// closes the same gap with its headers-sync timeout and stale-tip extra outbound peer.
constexpr auto stale_headers_interval = std::chrono::seconds{60};
constexpr auto max_stale_headers_interval = std::chrono::seconds{16 * 60};
/// A best header older than this (by its timestamp) means we are still behind (Core: a day).
constexpr std::int64_t stale_tip_age = 24 * 3600;

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
/// The first locator entry on our best chain (genesis if none is): where the peer's chain and
/// ours part.
const header_node* locator_fork(const sync_state& st, const std::vector<hash256>& locator) {
  for (const auto& hash : locator)
    if (auto* n = st.tree->find(hash); n != nullptr && on_best_chain(*st.tree, *n))
      return n;
  return &st.tree->genesis();
}
} // namespace

/// Disconnects `p` (invalid data) if a header of `msg`, which the node would drop without taking
/// it into the tree, is invalid on its own (check_headers_alone); true then. `fork` is the parent
/// of its first header when the node knows it (heights are named then).
bool drop_faulty_headers(sync_pointer self, sync_peer& p, const headers_message& msg,
                         const header_node* fork) {
  auto& st = self->state;
  auto fault = check_headers_alone(msg.headers, st.tree->params().pow_limit);
  if (!fault)
    return false;
  auto where = fork != nullptr
                   ? "at height " + std::to_string(fork->height + 1 + fault->index)
                   : std::to_string(fault->index + 1) + " of " + std::to_string(msg.headers.size())
                         + " in a headers message that does not connect";
  auto detail = fault->rejection == header_rejection::unknown_parent
                    ? "non-continuous headers " + where
                    : "invalid header " + where + ": " + to_string(fault->rejection);
  disconnect(self, p.info.id, close_reason::invalid_data, std::move(detail));
  return true;
}
/// Whether `node` is on the best header chain.
bool on_best_chain(const header_tree& tree, const header_node& node) {
  return tree.ancestor(tree.best(), node.height) == &node;
}
/// Sends `p` a getheaders with `locator`; its answer is awaited (headers_timeout).
void send_getheaders(sync_pointer self, sync_peer& p, std::vector<hash256> locator) {
  getheaders_message gh;
  gh.version = static_cast<std::uint32_t>(self->state.spec->protocol_version);
  gh.locator = std::move(locator);
  p.headers_requested = true;
  p.headers_continued = false;
  p.headers_moot = false;
  p.asked_once = true;
  p.headers_sent = self->clock().now();
  self->send(p.session, send_atom::value, p2p_message{std::move(gh)});
}
/// Asks `p` for the headers after our best; `from_parent`: after our best's parent, so that a
/// peer that has our best header sends at least that one (the peer manager's probe of a peer
/// that looks behind, as Core's chain-sync timeout does).
void request_headers(sync_pointer self, sync_peer& p, bool from_parent) {
  const auto& tree = *self->state.tree;
  const auto& best = tree.best();
  send_getheaders(self, p,
                  tree.locator(from_parent && best.parent != nullptr ? *best.parent : best));
}
/// Asks `p` for the headers after `last` (the last of a full headers message it sent, not yet
/// taken into the tree), our best chain's locator after it.
void request_headers_after(sync_pointer self, sync_peer& p, const hash256& last) {
  auto locator = self->state.tree->locator(self->state.tree->best());
  locator.insert(locator.begin(), last);
  send_getheaders(self, p, std::move(locator));
  p.headers_continued = true;
}
/// Whether every peer should be asked again: our old best header has not changed for
/// stale_headers_interval since the last round. Starts the round (clears asked_once) if so.
bool start_stale_round(sync_pointer self) {
  auto& st = self->state;
  const auto& best = st.tree->best();
  auto now = self->clock().now();
  if (best.hash != st.stale_best || st.stale_wait.count() == 0) {
    st.stale_best = best.hash;
    st.stale_since = now;
    st.stale_wait = stale_headers_interval;
    return false;
  }
  if (now - st.stale_since < st.stale_wait
      || st.unix.now() - static_cast<std::int64_t>(best.header.time) < stale_tip_age)
    return false;
  st.log.info("best header unchanged; asking every peer for headers again",
              {{"seconds", std::to_string(st.stale_wait.count())}});
  st.stale_since = now;
  st.stale_wait = std::min(2 * st.stale_wait, max_stale_headers_interval);
  for (auto& [id, p] : st.peers)
    p.asked_once = false;
  return true;
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
  if (pick == nullptr && start_stale_round(self))
    return drive_headers(self);
  if (pick == nullptr)
    return;
  st.headers_peer = pick->info.id;
  request_headers(self, *pick);
}
/// A getheaders unanswered for headers_timeout: the headers sync moves to another peer.
void expire_headers_requests(sync_pointer self) {
  auto& st = self->state;
  auto now = self->clock().now();
  for (auto& [id, p] : st.peers)
    if (p.headers_requested && now - p.headers_sent > headers_timeout) {
      st.log.info("headers request timed out; asking another peer", {{"peer", std::to_string(id)}});
      p.headers_requested = false;
      p.headers_moot = false;
      p.presync.reset(); // its chain is followed no further
      if (st.headers_peer == id)
        st.headers_peer.reset();
    }
}

/// A block (its header) that arrived without a request and claims to be the one after our tip
/// (a high-bandwidth cmpctblock, a local submission): the header goes through the header tree
/// and is stored like any header. Gives the node if it is valid and is now the best header, one
/// past the commit point; else the reason (for a rejection, whether the sender is at fault).
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
/// Takes `headers` (in chain order) into the header tree and the store for `p`. False when one
/// is invalid or does not follow the one before: the peer is then disconnected, once the valid
/// headers before it, which the tree has already taken, are stored too (else the store misses
/// them for good: a duplicate is never stored again). A header from the future ends the run
/// quietly (it may become valid; Bitcoin Core does not punish it either).
bool take_headers(sync_pointer self, sync_peer& p, std::span<const block_header> headers) {
  auto& st = self->state;
  auto now = st.unix.now();
  std::vector<stored_header> fresh;
  std::optional<std::pair<close_reason, std::string>> violation;
  for (const auto& h : headers) {
    auto r = st.tree->accept(h, now);
    if (r.rejection == header_rejection::unknown_parent) {
      violation.emplace(close_reason::invalid_data, "non-continuous headers");
      break;
    }
    if (r.rejection == header_rejection::time_too_new)
      break;
    if (r.rejection != header_rejection::none) {
      auto* parent = st.tree->find(h.prev_block);
      violation.emplace(close_reason::invalid_data,
                        "invalid header at height "
                            + std::to_string(parent != nullptr ? parent->height + 1 : 0) + ": "
                            + to_string(r.rejection));
      break;
    }
    if (p.best_known == nullptr || r.node->chain_work > p.best_known->chain_work)
      p.best_known = r.node;
    if (!r.duplicate) {
      fresh.push_back(stored_header{h, r.node->height});
      ++p.useful_headers;
    }
  }
  if (!fresh.empty())
    p.low_work_messages = 0;
  st.headers_received += fresh.size();
  store_headers(self, std::move(fresh));
  if (violation)
    disconnect(self, p.info.id, violation->first, std::move(violation->second));
  return !violation;
}
void on_headers(sync_pointer self, std::uint64_t id, const headers_message& msg) {
  auto& st = self->state;
  auto i = st.peers.find(id);
  if (i == st.peers.end() || !st.loaded)
    return;
  auto& p = i->second;
  auto was_requested = p.headers_requested;
  p.headers_requested = false;
  if (std::exchange(p.headers_moot, false) && was_requested) {
    drive_headers(self); // the answer to a request made moot (on_headers, below)
    return;
  }
  if (low_work_headers(self, p, msg))
    return;
  if (msg.headers.empty()) {
    drive_headers(self);
    return;
  }
  const auto& first = msg.headers.front();
  if (st.tree->find(first.prev_block) == nullptr && st.tree->find(block_hash(first)) == nullptr) {
    if (drop_faulty_headers(self, p, msg, nullptr))
      return; // whatever it would connect to, it cannot be valid
    // Maybe we are simply behind the peer's announcement: ask from our tip (unless its presync,
    // which will get there, is under way: that announcement is of the chain it follows).
    if (p.presync) {
      p.headers_requested = was_requested;
      return;
    }
    if (++p.unconnecting_headers > max_unconnecting_headers)
      return disconnect(self, id, close_reason::misbehaviour,
                        "too many headers messages that do not connect");
    request_headers(self, p);
    return;
  }
  // A full message means there is more: the next getheaders goes out before this one is
  // validated, so the peer's answer is under way while we check (a round trip per 2,000 headers
  // is what bounds the headers sync). Its locator starts at the last header sent; should that
  // header prove invalid, the peer is disconnected and the answer never read.
  bool more = msg.headers.size() == max_headers_results;
  auto last = block_hash(msg.headers.back());
  if (more)
    request_headers_after(self, p, last);
  if (!take_headers(self, p, msg.headers))
    return;
  if (more && st.tree->find(last) == nullptr) {
    // A header from the future ended the run (take_headers): what was asked for follows a header
    // we did not take and will not connect. The peer's turn ends quietly, as if the message had
    // been short (the header may become valid; the stale-header rounds ask again), and that
    // answer is ignored rather than counted as not connecting.
    p.headers_moot = true;
    more = false;
  }
  if (!more && st.headers_peer == id)
    st.headers_peer.reset();
  drive_headers(self);
  schedule_blocks(self);
}
/// The answer to a getheaders: our best chain's headers after the locator's fork point, at most
/// 2000, only those whose blocks we hold (a peer must be able to download what we announce),
/// ending at `stop` if it is among them.
headers_message headers_answer(const sync_state& st, const getheaders_message& msg) {
  const header_node* fork = locator_fork(st, msg.locator);
  const header_node* top = st.committed;
  if (top == nullptr || top->height <= fork->height || !on_best_chain(*st.tree, *top))
    return {};
  auto last = std::min<std::uint32_t>(top->height, fork->height + max_headers_results);
  std::vector<block_header> headers;
  for (auto* n = st.tree->ancestor(*top, last); n != nullptr && n != fork; n = n->parent)
    headers.push_back(n->header);
  std::reverse(headers.begin(), headers.end());
  if (msg.stop != hash256{})
    for (std::size_t k = 0; k < headers.size(); ++k)
      if (block_hash(headers[k]) == msg.stop) {
        headers.resize(k + 1);
        break;
      }
  return headers_message{std::move(headers)};
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
} // namespace qtc
