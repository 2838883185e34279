// Transaction relay: unknown announced transactions are asked for, what arrives goes into the
// bounded pool (stateless checks only) and is announced to the peers that want it; getdata for
// a transaction is served from the pool.
#include "actors/sync_state.hpp"
#include "messages/primitives/hex.hpp"

namespace qtc {

namespace {

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

/// Asks `p` for the announced transactions the tracker now gives to it.
void request_txs(sync_pointer self, std::uint64_t id, sync_peer& p) {
  auto txids = self->state.tx_requests.requestable(id, self->clock().now());
  if (txids.empty())
    return;
  getdata_message wanted;
  for (const auto& txid : txids)
    wanted.items.push_back(inv_item{static_cast<std::uint32_t>(inv_type::tx), txid});
  self->send(p.session, send_atom::value, p2p_message{std::move(wanted)});
}

} // namespace

/// The transactions an inv announces: known to the peer from now on; those not in the pool are
/// tracked, and asked of this peer at once if it is their best announcer and ready (an outbound
/// peer; an inbound one's announcement waits 2 s and is asked for on a later tick). Past its
/// 5000 tracked announcements a peer's further announcements are dropped, unless the operator
/// gave it the relay permission (Core: unlimited transaction announcements).
void on_tx_announcements(sync_pointer self, std::uint64_t id, sync_peer& p,
                         const inv_message& msg) {
  auto& st = self->state;
  auto now = self->clock().now();
  bool preferred = p.info.type != connection_type::inbound;
  std::size_t ignored = 0;
  for (const auto& item : msg.items) {
    if (item.type != static_cast<std::uint32_t>(inv_type::tx))
      continue;
    p.known.insert(item.hash);
    if (!st.pool.contains(item.hash)
        && !st.tx_requests.announce(id, item.hash, preferred, now, p.info.permissions.relay))
      ++ignored;
  }
  // Past 5000 announcements we have not fetched yet: more than relay can use (an inv flood).
  if (ignored > 0)
    report_flood(self, p, offence::inv_flood,
                 std::to_string(ignored) + " transaction announcements past the tracker's bound");
  request_txs(self, id, p);
}

void on_tx(sync_pointer self, std::uint64_t id, sync_peer& p, tx_message&& msg) {
  auto& st = self->state;
  if (!st.loaded)
    return;
  auto r = st.pool.add(std::move(msg.tx));
  st.tx_requests.received(id, r.id); // had now, or refused: not asked for again
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

/// The answer to getdata for a transaction: its bytes from the pool (it is known to the peer from
/// now on); nothing if it is not there (notfound).
std::optional<bytes> tx_answer(sync_pointer self, sync_peer& p, const hash256& txid) {
  const auto* e = self->state.pool.find(txid);
  if (e == nullptr)
    return std::nullopt;
  p.known.insert(txid);
  return serialize(e->tx);
}

/// The peer does not have a transaction we asked it for: the next announcer is asked on the
/// next tick.
void on_tx_not_found(sync_pointer self, std::uint64_t id, const hash256& txid) {
  self->state.tx_requests.not_found(id, txid);
}

/// Once a tick: requests past their 60 s fail and move on; each peer is asked for what is now
/// its to deliver (inbound announcements whose delay passed, failed requests' next announcers).
void schedule_tx_requests(sync_pointer self) {
  auto& st = self->state;
  auto expired = st.tx_requests.expire(self->clock().now());
  st.tx_requests_expired += expired.size();
  for (const auto& e : expired)
    st.log.debug("transaction request timed out",
                 {{"peer", std::to_string(e.peer)}, {"txid", to_display_hex(e.txid)}});
  if (st.tx_requests.size() == 0)
    return;
  for (auto& [id, p] : st.peers)
    request_txs(self, id, p);
}

/// A committed block's transactions are had: nobody is asked for them any more. (Skipped while
/// nothing is tracked, as during initial sync, to spare hashing every transaction twice.)
void forget_tx_requests(sync_pointer self, const block& b) {
  auto& st = self->state;
  if (st.tx_requests.size() == 0)
    return;
  for (const auto& tx : b.txs)
    st.tx_requests.forget(txid(tx));
}

} // namespace qtc
