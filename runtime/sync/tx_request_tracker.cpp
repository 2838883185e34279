#include "runtime/sync/tx_request_tracker.hpp"

#include <algorithm>
#include <tuple>

namespace qtc {

namespace {

/// The selection order: preferred first, then the earliest request time, then the earliest
/// announcement (sequences are unique, so this is a strict total order).
template <class Announcement>
bool better(const Announcement& a, const Announcement& b) {
  return std::tuple(!a.preferred, a.request_time, a.sequence)
         < std::tuple(!b.preferred, b.request_time, b.sequence);
}

} // namespace

// Two constructors: a `config c = {}` default argument cannot use the nested struct's member
// initializers inside the class that encloses it.
tx_request_tracker::tx_request_tracker() : config_() {}

tx_request_tracker::tx_request_tracker(config c) : config_(c) {}

tx_request_tracker::announcement* tx_request_tracker::find(tx_entry& e, peer_id peer) {
  auto i = std::find_if(e.announcements.begin(), e.announcements.end(),
                        [&](const announcement& a) { return a.peer == peer; });
  return i == e.announcements.end() ? nullptr : &*i;
}

bool tx_request_tracker::announce(peer_id peer, const hash256& txid, bool preferred, time_point now,
                                  bool unlimited) {
  auto tx = txs_.find(txid);
  if (tx != txs_.end() && find(tx->second, peer) != nullptr)
    return true; // a repeat: the first announcement stands (see the header)
  auto p = peers_.find(peer);
  std::size_t held = p == peers_.end() ? 0 : p->second.by_sequence.size();
  // Checked before anything is inserted, so a refused announcement allocates nothing.
  if (!unlimited && held >= config_.max_announcements_per_peer)
    return false;
  if (p == peers_.end())
    p = peers_.emplace(peer, peer_entry{}).first;
  if (tx == txs_.end())
    tx = txs_.emplace(txid, tx_entry{}).first;
  announcement a;
  a.peer = peer;
  a.preferred = preferred;
  a.request_time = preferred ? now : now + config_.non_preferred_delay;
  a.sequence = next_sequence_++;
  tx->second.announcements.push_back(a);
  p->second.by_sequence.emplace(a.sequence, txid);
  return true;
}

bool tx_request_tracker::ready(const announcement& a, time_point now) const {
  if (a.tried || a.request_time > now)
    return false;
  // A peer at its in-flight cap is passed over, so its backlog does not stall the others.
  return in_flight(a.peer) < config_.max_in_flight_per_peer;
}

bool tx_request_tracker::best_for(const tx_entry& e, peer_id peer, time_point now) const {
  auto mine = std::find_if(e.announcements.begin(), e.announcements.end(),
                           [&](const announcement& a) { return a.peer == peer; });
  if (mine == e.announcements.end() || !ready(*mine, now))
    return false;
  // The cheap comparison first: `ready` looks the other peer up.
  return std::none_of(e.announcements.begin(), e.announcements.end(), [&](const announcement& a) {
    return a.peer != peer && better(a, *mine) && ready(a, now);
  });
}

std::vector<hash256> tx_request_tracker::requestable(peer_id peer, time_point now) {
  std::vector<hash256> out;
  auto p = peers_.find(peer);
  if (p == peers_.end())
    return out;
  // Announcement order, so that a parent announced before its child is requested first.
  for (const auto& [sequence, txid] : p->second.by_sequence) {
    if (p->second.in_flight >= config_.max_in_flight_per_peer)
      break;
    auto& e = txs_.find(txid)->second; // every txid a peer holds is tracked
    if (e.in_flight_to || !best_for(e, peer, now))
      continue;
    start_request(txid, e, peer, now);
    out.push_back(txid);
  }
  return out;
}

void tx_request_tracker::start_request(const hash256& txid, tx_entry& e, peer_id peer,
                                       time_point now) {
  e.in_flight_to = peer;
  e.expiry = now + config_.request_timeout;
  expiries_.emplace(e.expiry, txid);
  ++peers_.find(peer)->second.in_flight;
}

void tx_request_tracker::end_request(const hash256& txid, tx_entry& e) {
  if (!e.in_flight_to)
    return;
  expiries_.erase({e.expiry, txid});
  --peers_.find(*e.in_flight_to)->second.in_flight;
  e.in_flight_to.reset();
}

void tx_request_tracker::erase_if_exhausted(tx_iterator it) {
  const auto& as = it->second.announcements;
  if (std::all_of(as.begin(), as.end(), [](const announcement& a) { return a.tried; }))
    erase_tx(it);
}

void tx_request_tracker::erase_tx(tx_iterator it) {
  end_request(it->first, it->second);
  for (const auto& a : it->second.announcements) {
    auto p = peers_.find(a.peer);
    p->second.by_sequence.erase(a.sequence);
    if (p->second.by_sequence.empty())
      peers_.erase(p); // a peer without announcements has nothing in flight either
  }
  txs_.erase(it);
}

void tx_request_tracker::received(peer_id, const hash256& txid) {
  // Whoever delivered it, nobody needs to be asked any more.
  forget(txid);
}

void tx_request_tracker::forget(const hash256& txid) {
  auto it = txs_.find(txid);
  if (it != txs_.end())
    erase_tx(it);
}

bool tx_request_tracker::not_found(peer_id peer, const hash256& txid) {
  auto it = txs_.find(txid);
  if (it == txs_.end())
    return false;
  auto* a = find(it->second, peer);
  if (a == nullptr)
    return false;
  // Marked tried even if nothing was in flight: the peer said it does not have it.
  a->tried = true;
  bool was_in_flight = it->second.in_flight_to == peer;
  if (was_in_flight)
    end_request(txid, it->second);
  erase_if_exhausted(it);
  return was_in_flight;
}

std::vector<tx_request_tracker::expired_request> tx_request_tracker::expire(time_point now) {
  std::vector<expired_request> out;
  // Collected first: failing a request edits the index being walked.
  for (auto i = expiries_.begin(); i != expiries_.end() && i->first <= now; ++i)
    out.push_back({*txs_.find(i->second)->second.in_flight_to, i->second});
  for (const auto& x : out)
    not_found(x.peer, x.txid);
  return out;
}

void tx_request_tracker::disconnected(peer_id peer) {
  auto p = peers_.find(peer);
  if (p == peers_.end())
    return;
  for (const auto& [sequence, txid] : p->second.by_sequence) {
    auto it = txs_.find(txid);
    auto& e = it->second;
    if (e.in_flight_to == peer)
      end_request(txid, e); // the next best announcer may be asked at once
    std::erase_if(e.announcements, [&](const announcement& a) { return a.peer == peer; });
    // Erasing the txid touches only the other announcers' entries, never the one being walked.
    erase_if_exhausted(it);
  }
  peers_.erase(p);
}

std::size_t tx_request_tracker::announcements(peer_id peer) const {
  auto p = peers_.find(peer);
  return p == peers_.end() ? 0 : p->second.by_sequence.size();
}

std::size_t tx_request_tracker::in_flight(peer_id peer) const {
  auto p = peers_.find(peer);
  return p == peers_.end() ? 0 : p->second.in_flight;
}

bool tx_request_tracker::is_in_flight(const hash256& txid) const {
  return requested_from(txid).has_value();
}

std::optional<tx_request_tracker::peer_id>
tx_request_tracker::requested_from(const hash256& txid) const {
  auto it = txs_.find(txid);
  return it == txs_.end() ? std::nullopt : it->second.in_flight_to;
}

} // namespace qtc
