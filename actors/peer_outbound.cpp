// The peer manager's outbound side: the automatic full-relay and block-relay-only slots (one
// network group per outbound peer), the operator's peers (--connect, --addnode, and `connect`
// requests), feeler connections, and the replacement of outbound peers stuck behind our chain.
#include "actors/peer_manager_state.hpp"
#include "messages/primitives/hex.hpp"

#include <algorithm>

namespace qtc {

namespace {

using clock_type = std::chrono::steady_clock;

constexpr auto poor_check_interval = std::chrono::seconds{10};
constexpr auto probe_response_time = std::chrono::minutes{2}; ///< Core's HEADERS_RESPONSE_TIME

std::size_t pending_connects(const peer_manager_state& st) {
  std::size_t n = 0;
  for (const auto& [id, e] : st.entries)
    if (e.type != connection_type::inbound && !e.ready)
      ++n;
  return n;
}

} // namespace

/// The node id a `<node id hex>@host:port` entry pins (checked against the peer's QuantumProof).
std::optional<node_id> parse_pin(const std::string& hex) {
  if (hex.empty())
    return std::nullopt;
  auto raw = from_hex(hex);
  if (!raw || raw->size() != 32)
    return std::nullopt;
  node_id key{};
  std::copy(raw->begin(), raw->end(), key.begin());
  return key;
}

std::optional<manual_peer> make_manual(const network_address_entry& entry, std::string& error) {
  manual_peer m;
  m.entry = entry;
  auto ip = parse_ip(entry.host);
  if (!ip) {
    error = "'" + entry.host + "' is not an IP address (peers are given by address)";
    return std::nullopt;
  }
  m.ip = *ip;
  if (!entry.pubkey_hex.empty())
    m.pinned = parse_pin(entry.pubkey_hex);
  return m;
}

std::optional<manual_peer> make_manual(const std::string& text, std::string& error) {
  auto entry = parse_address_entry(text, error);
  return entry ? make_manual(*entry, error) : std::nullopt;
}

/// Connects to an operator's peer now (`[tls:][<pubkey>@]ip:port`), kept connected from then on.
void connect_manual(peer_manager_pointer self, const std::string& text) {
  auto& st = self->state;
  std::string error;
  auto m = make_manual(text, error);
  if (!m) {
    st.log.warning("connect request ignored", {{"peer", text}, {"reason", error}});
    return;
  }
  st.manual.push_back(std::move(*m));
  fill_slots(self);
}

/// Opens an outbound connection; false (and the failure recorded) if it could not even start.
bool connect_outbound(peer_manager_pointer self, connection_type type, const ip_bytes& ip,
                      std::uint16_t port, transport_kind transport, std::optional<node_id> pinned,
                      std::optional<std::size_t> manual) {
  auto& st = self->state;
  auto remote = format_endpoint(ip, port);
  auto id = spawn_session(self, type, ip, port, transport, pinned, manual);
  if (auto why = st.dialer->dial(self->system(), ip, port, st.entries.at(id).session)) {
    st.log.warning("cannot connect", {{"remote", remote}, {"reason", *why}});
    self->send(st.entries.at(id).session, linkdown_atom::value);
    return false;
  }
  if (manual)
    st.manual[*manual].session = id;
  st.log.debug("connecting", {{"peer", std::to_string(id)},
                              {"remote", remote},
                              {"type", to_string(type)},
                              {"transport", to_string(transport)}});
  return true;
}

/// The network groups of our outbound peers: a new outbound peer comes from another one.
std::set<std::vector<std::uint8_t>> outbound_groups(const peer_manager_state& st) {
  std::set<std::vector<std::uint8_t>> used;
  for (const auto& [id, e] : st.entries)
    if (e.type != connection_type::inbound && !e.closing)
      used.insert(network_group(e.ip, st.spec->allow_private_addresses));
  return used;
}

/// Asks the supervisor for the sync coordinator (again after it restarted). Until it is found,
/// every tick asks again (fill_slots): it starts before us, but may be restarting. (No tick of its
/// own on failure: every tick schedules the next, so an extra one would tick twice forever.)
void find_sync(peer_manager_pointer self) {
  self->state.sync.find(
      self, self->state.parent, std::chrono::seconds{5},
      [self](const sync_actor& sync) {
        self->monitor(sync);
        self->send(sync, subscribe_atom::value, sync_subscriber_actor{self});
        fill_slots(self); // connections wait for nothing else
      },
      [](const caf::error&) {});
}

/// Keeps the manual peers connected and the automatic outbound slots filled.
void fill_slots(peer_manager_pointer self) {
  auto& st = self->state;
  if (!st.sync) {
    find_sync(self);
    return; // sessions need the sync coordinator to report to
  }
  auto now = self->clock().now();
  for (std::size_t i = 0; i < st.manual.size(); ++i) {
    auto& m = st.manual[i];
    if (m.session || m.removed || m.next_try > now)
      continue;
    m.removed = m.once; // a one-try is dialled this once
    m.next_try = now + st.pool.manual_retry;
    if (!may_connect(self, m.ip))
      continue;
    connect_outbound(self, connection_type::manual, m.ip, m.entry.port,
                     first_transport(m.entry.tls_only), m.pinned, i);
  }
  if (!st.pool.connect.empty())
    return; // --connect: only the operator's peers
  auto used = outbound_groups(st);
  std::set<std::pair<ip_bytes, std::uint16_t>> connected;
  for (const auto& [id, e] : st.entries)
    connected.emplace(e.ip, e.port);
  auto want = [&](connection_type t, std::uint32_t slots) { return count_type(st, t) < slots; };
  while (pending_connects(st) < st.pool.max_pending_connects) {
    connection_type type;
    if (want(connection_type::outbound_full_relay, st.pool.full_relay_slots))
      type = connection_type::outbound_full_relay;
    else if (want(connection_type::block_relay, st.pool.block_relay_slots))
      type = connection_type::block_relay;
    else {
      st.addresses_short = false;
      return;
    }
    auto pick = st.addrman->select(used, unix_now(self));
    if (!pick) {
      st.addresses_short = true; // a slot is empty for want of an address
      return;
    }
    st.addrman->attempt(pick->ip, pick->port, false, unix_now(self));
    st.addrman_dirty = true;
    if (connected.contains({pick->ip, pick->port}) || !may_dial(self, pick->ip))
      continue;
    used.insert(network_group(pick->ip, st.spec->allow_private_addresses));
    connected.emplace(pick->ip, pick->port);
    connect_outbound(self, type, pick->ip, pick->port, first_transport(pick->tls_only),
                     parse_pin(pick->pubkey_hex), std::nullopt);
  }
}

/// Feelers (Core's): once the automatic outbound slots are full, a short connection now and then
/// to an address from the new table. A handshake moves the address to tried and the connection
/// ends; a failure counts against the address. The tried table so fills with addresses known to
/// work, which is what an attacker flooding the new table cannot fake.
void maybe_start_feeler(peer_manager_pointer self) {
  auto& st = self->state;
  auto now = self->clock().now();
  if (st.pool.feeler_interval.count() == 0 || !st.pool.connect.empty() || !st.sync)
    return;
  auto schedule = [&] {
    std::exponential_distribution<double> wait{
        1.0 / static_cast<double>(st.pool.feeler_interval.count())};
    st.next_feeler = now
                     + std::chrono::duration_cast<clock_type::duration>(
                         std::chrono::duration<double>{wait(st.rng)});
  };
  if (st.next_feeler == clock_type::time_point{}) {
    schedule();
    return;
  }
  if (now < st.next_feeler)
    return;
  schedule();
  if (count_type(st, connection_type::outbound_full_relay) < st.pool.full_relay_slots
      || count_type(st, connection_type::block_relay) < st.pool.block_relay_slots
      || count_type(st, connection_type::feeler) > 0)
    return; // the slots come first; one feeler at a time
  auto pick = st.addrman->select(outbound_groups(st), unix_now(self), true);
  if (!pick || !may_dial(self, pick->ip))
    return;
  for (const auto& [id, e] : st.entries)
    if (e.ip == pick->ip && e.port == pick->port)
      return;
  st.addrman->attempt(pick->ip, pick->port, false, unix_now(self));
  st.addrman_dirty = true;
  ++st.feelers_started;
  connect_outbound(self, connection_type::feeler, pick->ip, pick->port,
                   first_transport(pick->tls_only), parse_pin(pick->pubkey_hex), std::nullopt);
}

/// Core's chain-sync timeout: an automatic outbound peer whose best chain is behind ours and that
/// has delivered nothing new for poor_peer_timeout is asked (through the sync coordinator) for
/// headers from our tip's parent; a peer that has caught up answers with our tip and is kept.
/// One still behind probe_response_time later holds a slot a better peer could use, so it is
/// replaced (its address marked tried-just-now, so it is not picked again at once). Operator
/// peers are never replaced.
void replace_poor_outbound(peer_manager_pointer self) {
  auto& st = self->state;
  auto now = self->clock().now();
  if (now - st.last_poor_check < poor_check_interval)
    return;
  st.last_poor_check = now;
  auto ours = st.settings.start_height;
  for (auto& [id, e] : st.entries) {
    if (!e.ready || e.closing
        || (e.type != connection_type::outbound_full_relay
            && e.type != connection_type::block_relay))
      continue;
    auto theirs = std::max(e.info.start_height, e.score.best_height);
    auto since = std::max(e.score.last_useful, e.started);
    if (theirs >= ours || now - since < st.pool.poor_peer_timeout) {
      e.probed.reset();
      continue;
    }
    if (!e.probed) {
      e.probed = now;
      if (st.sync)
        self->send(st.sync.get(), refresh_atom::value, id);
      continue;
    }
    if (now - *e.probed < probe_response_time)
      continue;
    auto idle = std::chrono::duration_cast<std::chrono::seconds>(now - since).count();
    auto detail = "behind our chain (height " + std::to_string(theirs) + ", ours "
                  + std::to_string(ours) + ") and nothing new for " + std::to_string(idle) + " s";
    e.closing = true;
    ++st.outbound_replaced;
    st.addrman->attempt(e.ip, e.port, false, unix_now(self));
    st.addrman_dirty = true;
    st.log.info("peer replaced", {{"peer", std::to_string(id)},
                                  {"remote", format_endpoint(e.ip, e.port)},
                                  {"reason", detail}});
    self->send(e.session, close_atom::value, close_reason::unwanted, "replaced: " + detail);
  }
}

} // namespace qtc
