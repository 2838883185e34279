// The peer manager's pool: every session from spawn to close. The manager owns its sessions: it
// monitors each (a session that fails without saying goodbye is recorded as closed, so its slot
// is not held forever) and each session monitors the manager (a manager that stops or fails
// takes its sessions with it, closed cleanly, so a restarted manager starts with an empty pool
// and no session outlives the pool that counted it).
#include "actors/peer_manager_state.hpp"
#include "actors/peer_session.hpp"
#include "actors/support/metric_names.hpp"
#include "messages/errors.hpp"
#include "messages/primitives/hex.hpp"

namespace qtc {

namespace {

constexpr std::size_t max_recent_closes = 32;

/// A Noise attempt that met a peer without Noise is retried once over TLS, in the same slot; a
/// hybrid attempt refused by a classical-only peer is retried once in classical mode when the
/// policy is `preferred`. True if it was retried.
bool retry_fallback(peer_manager_pointer self, const pool_entry& entry, const peer_closed& closed) {
  auto& st = self->state;
  if (closed.reason != close_reason::transport_failed)
    return false;
  auto failure = static_cast<transport_error>(closed.transport_failure);
  if (auto why = classical_fallback_reason(st.context->pq, entry.transport, failure)) {
    st.log.info("retrying in classical mode", {{"remote", closed.remote}, {"reason", *why}});
    connect_outbound(self, entry.type, entry.ip, entry.port, transport_kind::noise_classical,
                     entry.pinned, entry.manual);
    return true;
  }
  auto why = tls_fallback_reason(entry.transport, failure);
  if (!why)
    return false;
  st.log.info("retrying over TLS", {{"remote", closed.remote}, {"reason", *why}});
  // Remembered: later connections to this peer start with TLS.
  if (entry.manual)
    st.manual[*entry.manual].entry.tls_only = true;
  st.addrman->learned_tls_only(entry.ip, entry.port);
  connect_outbound(self, entry.type, entry.ip, entry.port, transport_kind::tls, entry.pinned,
                   entry.manual);
  return true;
}

/// The post-quantum layer's refusals, for the quantumproofs_total and pq_refusals_total metrics.
void count_pq_outcome(peer_manager_state& st, const peer_closed& closed) {
  switch (closed.reason) {
  case close_reason::quantumproof_missing:
  case close_reason::quantumproof_timeout:
  case close_reason::quantumproof_malformed:
  case close_reason::quantumproof_invalid:
  case close_reason::pin_mismatch:
    st.metrics.count(metric_names::quantumproofs_total, {{"result", to_string(closed.reason)}});
    return;
  case close_reason::transport_failed:
    break;
  default:
    return;
  }
  auto failure = static_cast<transport_error>(closed.transport_failure);
  if (failure == transport_error::peer_not_post_quantum
      || failure == transport_error::peer_requires_post_quantum
      || failure == transport_error::downgrade_detected)
    st.metrics.count(metric_names::pq_refusals_total, {{"reason", to_string(failure)}});
}

/// A feeler's handshake shows the address works: it moves to tried, and the connection has done
/// its job.
void feeler_done(peer_manager_pointer self, pool_entry& e, peer_info& info) {
  auto& st = self->state;
  st.addrman->good(e.ip, e.port, unix_now(self));
  st.addrman_dirty = true;
  ++st.feelers_succeeded;
  e.ready = true;
  e.closing = true;
  e.info = std::move(info);
  st.log.info("feeler succeeded", {{"remote", format_endpoint(e.ip, e.port)}});
  self->send(e.session, close_atom::value, close_reason::unwanted, "feeler: the address works");
}

} // namespace

std::size_t count_type(const peer_manager_state& st, connection_type t) {
  std::size_t n = 0;
  for (const auto& [id, e] : st.entries)
    if (e.type == t && !e.closing)
      ++n;
  return n;
}

/// The connections gauges: all ready peers, and by direction and transport.
void report_peer_gauges(peer_manager_state& st) {
  std::map<std::pair<std::string, std::string>, std::size_t> by;
  for (const char* direction : {"inbound", "outbound"})
    for (const char* transport : {"noise", "tls"})
      by[{direction, transport}] = 0;
  std::size_t ready = 0;
  for (const auto& [id, e] : st.entries) {
    if (!e.ready || e.closing) // a feeler's moment of readiness is not a connection
      continue;
    ++ready;
    ++by[{e.type == connection_type::inbound ? "inbound" : "outbound", e.info.transport}];
  }
  st.metrics.gauge(metric_names::connections_active, {}, static_cast<double>(ready));
  for (const auto& [key, n] : by)
    st.metrics.gauge(metric_names::peers, {{"direction", key.first}, {"transport", key.second}},
                     static_cast<double>(n));
}

std::uint32_t outbound_slots(const peer_manager_state& st) {
  auto manual = std::count_if(st.manual.begin(), st.manual.end(),
                              [](const manual_peer& m) { return !m.removed || m.session; });
  return st.pool.full_relay_slots + st.pool.block_relay_slots + static_cast<std::uint32_t>(manual);
}

std::uint32_t inbound_slots(const peer_manager_state& st) {
  auto out = outbound_slots(st);
  return st.pool.max_connections > out ? st.pool.max_connections - out : 0;
}

/// Unix seconds on the actor clock (virtual in the simulator, so the address manager's ages are).
std::int64_t unix_now(peer_manager_pointer self) {
  return self->state.unix.now();
}

/// Starts a session for a connection; returns its id. The link is attached by the caller.
std::uint64_t spawn_session(peer_manager_pointer self, connection_type type, const ip_bytes& ip,
                            std::uint16_t port, transport_kind transport,
                            std::optional<node_id> pinned, std::optional<std::size_t> manual) {
  auto& st = self->state;
  auto id = st.next_id++;
  peer_session_config cfg;
  cfg.id = id;
  cfg.type = type;
  cfg.ip = ip;
  cfg.port = port;
  cfg.transport = transport;
  cfg.pinned = pinned;
  cfg.settings = st.settings;
  cfg.seed = st.rng();
  cfg.context = st.context;
  cfg.manager = peer_manager_actor{self};
  cfg.permissions = permissions_of(st.pool.allow, ip);
  // Unsolicited traffic is limited per address by the security manager's budget (the chain
  // spec's max_messages_per_minute and max_bytes_per_minute; 0 turns the limits off).
  if (st.security && st.spec->max_messages_per_minute > 0 && st.spec->max_bytes_per_minute > 0) {
    cfg.security = st.security.get();
    cfg.settings.rate_limited = true;
  }
  // A feeler only tests the address: the sync coordinator never hears of it.
  if (type != connection_type::feeler)
    cfg.sync = st.sync.get();
  auto session = self->spawn(peer_session, std::move(cfg));
  self->monitor(session);
  pool_entry e;
  e.session = session;
  e.type = type;
  e.ip = ip;
  e.port = port;
  e.transport = transport;
  e.pinned = pinned;
  e.manual = manual;
  e.started = self->clock().now();
  st.entries.emplace(id, std::move(e));
  return id;
}

/// Tells the security manager which static key a peer at `ip` proved it holds (one key on many
/// addresses is a Sybil pattern).
void report_identity(peer_manager_pointer self, const ip_bytes& ip, const std::string& key_hex) {
  auto& st = self->state;
  auto raw = from_hex(key_hex);
  if (!st.security || !raw || raw->size() != 32)
    return; // TLS peers without a pinned key have none to report
  std::array<std::uint8_t, 32> key{};
  std::copy(raw->begin(), raw->end(), key.begin());
  self->send(st.security.get(), ready_atom::value, ip, key);
}

/// A session completed its handshake: it counts as a connection unless it is a feeler (done) or a
/// second session to a node we are already connected to (closed).
void on_ready(peer_manager_pointer self, peer_info& info) {
  auto& st = self->state;
  auto i = st.entries.find(info.id);
  if (i == st.entries.end())
    return;
  auto& e = i->second;
  st.metrics.count(metric_names::quantumproofs_total, {{"result", "verified"}});
  if (e.type != connection_type::inbound)
    st.metrics.count(metric_names::connection_attempts_total, {{"result", "connected"}});
  if (e.type == connection_type::feeler)
    return feeler_done(self, e, info);
  report_identity(self, e.ip, info.static_key_hex);
  // Two sessions to the same node (same static key) are one too many: keep the first.
  for (const auto& [id, other] : st.entries)
    if (id != info.id && other.ready && other.info.static_key_hex == info.static_key_hex) {
      self->send(e.session, close_atom::value, close_reason::duplicate,
                 "already connected to node " + info.static_key_hex.substr(0, 16));
      return;
    }
  e.ready = true;
  e.info = std::move(info);
  st.addrman->good(e.ip, e.port, unix_now(self));
  st.addrman_dirty = true;
  save_addresses(self); // the first success is kept at once (later ones once a minute)
  st.metrics.count(metric_names::connections_total);
  report_peer_gauges(st);
  report_observed_address(self, e);
  if (e.type == connection_type::outbound_full_relay || e.type == connection_type::manual)
    ask_for_addresses(self, e);
}

/// A session ended: its slot is free, its reason counted, its peer's conduct reported; an outbound
/// slot is filled again (over TLS first if the peer turned out not to speak Noise).
void record_close(peer_manager_pointer self, const peer_closed& closed) {
  auto& st = self->state;
  st.closed_any = true;
  st.last_close = self->clock().now();
  auto i = st.entries.find(closed.id);
  if (i == st.entries.end())
    return;
  auto entry = std::move(i->second);
  st.entries.erase(i);
  ++st.closes_by_reason[to_string(closed.reason)];
  if (!closed.was_ready)
    st.metrics.count(metric_names::handshake_failures_total,
                     {{"reason", to_string(closed.reason)}});
  count_pq_outcome(st, closed);
  st.recent_closes.push_back(closed);
  if (st.recent_closes.size() > max_recent_closes)
    st.recent_closes.pop_front();
  if (entry.manual)
    st.manual[*entry.manual].session.reset();
  if (entry.ready)
    report_peer_gauges(st);
  report_conduct(self, entry, closed);
  admission_closed(self, entry);
  if (entry.type == connection_type::inbound)
    return;
  if (!closed.was_ready) {
    st.metrics.count(metric_names::connection_attempts_total, {{"result", "failed"}});
    if (retry_fallback(self, entry, closed))
      return;
    st.addrman->attempt(entry.ip, entry.port, true, unix_now(self));
    st.addrman_dirty = true;
  }
  fill_slots(self);
}

/// A session stopped. One that said goodbye (`closed`) is gone from the pool already; one that
/// failed without it (a fault of ours, not the peer's) is recorded as closed now, and the sync
/// coordinator, which heard it was ready, hears that it is gone. True if `msg` was a session's.
bool on_session_down(peer_manager_pointer self, const caf::down_msg& msg) {
  auto& st = self->state;
  for (auto& [id, e] : st.entries) {
    if (e.session.address() != msg.source)
      continue;
    peer_closed closed;
    closed.id = id;
    closed.type = e.type;
    closed.remote = format_endpoint(e.ip, e.port);
    closed.was_ready = e.ready;
    closed.reason = close_reason::session_failed;
    closed.detail = render_error(msg.reason);
    closed.transport = e.ready ? e.info.transport : to_string(e.transport);
    st.log.error(
        "peer session failed",
        {{"peer", std::to_string(id)}, {"remote", closed.remote}, {"reason", closed.detail}});
    if (e.ready && st.sync)
      self->send(st.sync.get(), closed_atom::value, closed);
    record_close(self, closed);
    return true;
  }
  return false;
}

} // namespace qtc
