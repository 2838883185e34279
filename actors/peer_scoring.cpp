// The peer manager's view of each peer: the score its session and the sync coordinator report
// (latency, traffic, useful headers and blocks), the node's traffic and latency gauges, and the
// status report of the whole pool.
#include "actors/peer_manager_state.hpp"
#include "actors/support/metric_names.hpp"
#include "actors/support/status_fields.hpp"
#include "runtime/net/security_policy.hpp"

#include <algorithm>

namespace qtc {

namespace {

constexpr auto bandwidth_window = std::chrono::seconds{5};

caf::settings score_status(peer_manager_pointer self, const pool_entry& e) {
  const auto& s = e.score;
  auto now = self->clock().now();
  caf::settings r;
  auto ms = [](std::optional<std::int64_t> us) {
    return us ? static_cast<double>(*us) / 1000.0 : -1.0;
  };
  report(r, "min-ping-ms", ms(s.min_ping_us));
  report(r, "ping-ms", ms(s.last_ping_us));
  report(r, "bytes-sent", s.bytes_sent);
  report(r, "bytes-received", s.bytes_received);
  report(r, "messages-sent", s.messages_sent);
  report(r, "messages-received", s.messages_received);
  report(r, "useful-headers", s.useful_headers);
  report(r, "useful-blocks", s.useful_blocks);
  report(r, "seconds-since-useful", seconds_between(s.last_useful, now));
  report(r, "seconds-since-block", seconds_between(s.last_block, now));
  report(r, "best-height", s.best_height);
  report(r, "connected-seconds", seconds_between(e.started, now));
  auto conduct = self->state.bans.conduct_of(e.ip);
  report(r, "violations", conduct != nullptr ? conduct->violations : 0);
  return r;
}

/// The pool's counters: connections by type, slots, refusals, evictions, feelers, addresses.
void report_counters(const peer_manager_state& st, status_report& r) {
  std::size_t ready = 0;
  for (const auto& [id, e] : st.entries)
    ready += e.ready ? 1 : 0;
  report(r, "connections", ready);
  report(r, "connecting", st.entries.size() - ready);
  report(r, "inbound", count_type(st, connection_type::inbound));
  report(r, "outbound-full-relay", count_type(st, connection_type::outbound_full_relay));
  report(r, "block-relay", count_type(st, connection_type::block_relay));
  report(r, "manual", count_type(st, connection_type::manual));
  report(r, "inbound-slots", inbound_slots(st));
  report(r, "inbound-refused", st.inbound_refused);
  report(r, "inbound-evicted", st.inbound_evicted);
  report(r, "outbound-replaced", st.outbound_replaced);
  report(r, "feelers-started", st.feelers_started);
  report(r, "feelers-succeeded", st.feelers_succeeded);
  report(r, "discovery-refreshes", st.refreshes);
  report(r, "addresses-new", st.addrman->new_count());
  report(r, "addresses-tried", st.addrman->tried_count());
  report(r, "banned", st.bans.bans().size() + st.bans.policy_bans());
  report(r, "discouraged", st.bans.discouraged_count());
  report(r, "bytes-sent-total", st.total_bytes_sent);
  report(r, "bytes-received-total", st.total_bytes_received);
  status_report reasons;
  for (const auto& [reason, n] : st.closes_by_reason)
    report(reasons, reason, n);
  report(r, "closed-by-reason", std::move(reasons));
}

/// Every session of the pool with its score.
caf::config_value::list peers_status(peer_manager_pointer self) {
  caf::config_value::list peers;
  for (const auto& [id, e] : self->state.entries) {
    status_report p;
    report(p, "id", id);
    report(p, "remote", format_endpoint(e.ip, e.port));
    report(p, "type", to_string(e.type));
    report(p, "transport", e.ready ? e.info.transport : to_string(e.transport));
    report(p, "state", e.closing ? "closing" : e.ready ? "ready" : "connecting");
    report(p, "score", score_status(self, e));
    if (e.ready) {
      report(p, "post-quantum", e.info.post_quantum);
      report(p, "user-agent", e.info.user_agent);
      report(p, "start-height", e.info.start_height);
      report(p, "static-key", e.info.static_key_hex);
    }
    peers.emplace_back(std::move(p));
  }
  return peers;
}

/// The last sessions that ended, and why.
caf::config_value::list closes_status(const peer_manager_state& st) {
  caf::config_value::list closes;
  for (const auto& c : st.recent_closes) {
    status_report p;
    report(p, "remote", c.remote);
    report(p, "type", to_string(c.type));
    report(p, "reason", to_string(c.reason));
    report(p, "detail", c.detail);
    closes.emplace_back(std::move(p));
  }
  return closes;
}

/// The bans in force, with each address's recorded violations.
caf::config_value::list bans_status(peer_manager_pointer self) {
  caf::config_value::list bans;
  auto now = self->clock().now();
  for (const auto& [ip, until] : self->state.bans.bans()) {
    status_report b;
    report(b, "address", format_ip(ip));
    if (auto conduct = self->state.bans.conduct_of(ip)) {
      report(b, "violations", conduct->violations);
      report(b, "last-violation", conduct->last_violation);
    }
    report(b, "seconds-left",
           std::chrono::duration_cast<std::chrono::seconds>(until - now).count());
    bans.emplace_back(std::move(b));
  }
  // The security manager's, as it told us (the address's violations are recorded here too).
  for (const auto& v : self->state.bans.policy_list(now)) {
    status_report b;
    auto net = subnet{v.base, v.prefix_len};
    report(b, "address", net.format());
    if (auto conduct = self->state.bans.conduct_of(v.base); conduct && net.is_host()) {
      report(b, "violations", conduct->violations);
      report(b, "last-violation", conduct->last_violation);
    }
    report(b, "seconds-left", v.seconds_left);
    bans.emplace_back(std::move(b));
  }
  return bans;
}

} // namespace

/// Takes a session's latency and traffic figures into its score and the node's metrics.
void on_activity(peer_manager_pointer self, const peer_activity& a) {
  auto& st = self->state;
  auto i = st.entries.find(a.id);
  if (i == st.entries.end())
    return;
  auto& s = i->second.score;
  if (a.min_ping_us >= 0)
    s.min_ping_us = a.min_ping_us;
  if (a.last_ping_us >= 0)
    s.last_ping_us = a.last_ping_us;
  auto sent = a.bytes_sent - std::min(a.bytes_sent, s.bytes_sent);
  auto received = a.bytes_received - std::min(a.bytes_received, s.bytes_received);
  s.bytes_sent = a.bytes_sent;
  s.bytes_received = a.bytes_received;
  s.messages_sent = a.messages_sent;
  s.messages_received = a.messages_received;
  if (sent > 0)
    st.metrics.count(metric_names::bytes_sent_total, {}, static_cast<double>(sent));
  if (received > 0)
    st.metrics.count(metric_names::bytes_received_total, {}, static_cast<double>(received));
  st.traffic_bytes += sent + received;
  st.total_bytes_sent += sent;
  st.total_bytes_received += received;
  std::vector<metric_increment> traffic;
  traffic.reserve(2 * a.traffic.size());
  for (const auto& t : a.traffic) {
    metric_labels labels{{"direction", t.sent ? "sent" : "received"},
                         {"command", std::string{command_label(t.command)}}};
    traffic.push_back(
        {std::string{metric_names::messages_total}, labels, static_cast<double>(t.messages)});
    traffic.push_back({std::string{metric_names::message_bytes_total}, std::move(labels),
                       static_cast<double>(t.bytes)});
  }
  st.metrics.count(std::move(traffic));
}

/// Peer traffic in bytes per second over the last window, and the mean latest ping, for the
/// bandwidth and latency gauges.
void update_bandwidth(peer_manager_pointer self) {
  auto& st = self->state;
  auto now = self->clock().now();
  auto elapsed = now - st.traffic_since;
  if (elapsed < bandwidth_window)
    return;
  auto seconds = std::chrono::duration<double>(elapsed).count();
  st.metrics.gauge(metric_names::bandwidth_usage, {},
                   static_cast<double>(st.traffic_bytes) / seconds);
  // The latency gauge on the same 5 s window: averaging over every peer on each session's report
  // would cost O(peers) per report, O(peers²) per window.
  double total = 0;
  std::size_t n = 0;
  for (const auto& [id, e] : st.entries)
    if (e.score.last_ping_us) {
      total += static_cast<double>(*e.score.last_ping_us);
      ++n;
    }
  if (n > 0)
    st.metrics.gauge(metric_names::latency_avg, {}, total / static_cast<double>(n) / 1e6);
  st.traffic_bytes = 0;
  st.traffic_since = now;
}

/// Takes what the sync coordinator says a peer delivered into its score.
void on_useful(peer_manager_pointer self, const peer_usefulness& u) {
  auto& st = self->state;
  auto i = st.entries.find(u.id);
  if (i == st.entries.end())
    return;
  auto& s = i->second.score;
  auto now = self->clock().now();
  s.useful_headers += u.new_headers;
  s.useful_blocks += u.new_blocks;
  if (u.new_headers + u.new_blocks > 0)
    s.last_useful = now;
  if (u.new_blocks > 0)
    s.last_block = now;
  s.best_height = std::max(s.best_height, u.best_height);
}

/// The pool's status: counters always; each peer, the recent closes and the bans when detailed.
status_report pool_status(peer_manager_pointer self, status_verbosity v) {
  auto& st = self->state;
  status_report r;
  report(r, "name", "peers");
  report(r, "state", "listening");
  report(r, "address", st.address);
  // What peers are told of us (the NAT mapper's word; "" when nothing is advertised).
  auto own = own_address(st);
  report(r, "advertised", own ? format_endpoint(own->ip, own->port) : std::string{});
  report_counters(st, r);
  if (v != status_verbosity::info) {
    report(r, "peers", peers_status(self));
    report(r, "recent-closes", closes_status(st));
    report(r, "bans", bans_status(self));
  }
  return r;
}

} // namespace qtc
