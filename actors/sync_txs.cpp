// Transaction relay: unknown announced transactions are asked for, what arrives goes into the
// bounded pool (stateless checks only) and is announced to the peers that want it; getdata for
// a transaction is served from the pool.
#include "actors/sync_state.hpp"

namespace qtc {

namespace {

/// A transaction asked for and not delivered this long may be asked of another announcer (Core's
/// GETDATA_TX_INTERVAL).
constexpr auto tx_request_timeout = std::chrono::seconds{60};

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

} // namespace

/// The transactions an inv announces: remembered as known to the peer; those we neither have
/// nor asked for are asked of this first announcer.
void on_tx_announcements(sync_pointer self, std::uint64_t, sync_peer& p, const inv_message& msg) {
  auto& st = self->state;
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

/// getdata for a transaction: sent from the pool; false if it is not there (notfound).
bool serve_tx(sync_pointer self, sync_peer& p, const hash256& txid) {
  const auto* e = self->state.pool.find(txid);
  if (e == nullptr)
    return false;
  p.known.insert(txid);
  self->send(p.session, send_atom::value, p2p_message{tx_message{e->tx}});
  return true;
}

/// The peer does not have a transaction we asked it for: another announcer may be asked.
void on_tx_not_found(sync_pointer self, std::uint64_t, const hash256& txid) {
  self->state.txs_requested.erase(txid);
}

/// Transaction requests older than tx_request_timeout are given up.
void expire_tx_requests(sync_pointer self) {
  auto now = self->clock().now();
  std::erase_if(self->state.txs_requested,
                [&](const auto& kv) { return now - kv.second > tx_request_timeout; });
}

} // namespace qtc
