// The peer manager's inbound side and its seam to the node's security policy.
//
// Every connection, in or out, first asks `may_connect`; every session's end reports the peer's
// conduct (`report_conduct`). Today both go to the ban list the peer manager owns
// (runtime/net/ban_list.hpp: each protocol violation bans its address for the chain spec's
// ban_duration); the security manager takes these two questions over.
//
// An inbound connection is refused when its address is banned, when the chain spec's [dos]
// per-address or per-subnet limit is reached, or when the inbound slots are full and every
// inbound peer is protected from eviction (runtime/net/peer_eviction, Bitcoin Core's rules).
#include "actors/peer_manager_state.hpp"
#include "runtime/net/peer_eviction.hpp"

namespace qtc {

namespace {

/// The subnet of `ip` for the chain spec's per-subnet inbound limit.
std::vector<std::uint8_t> subnet_of(const ip_bytes& ip, const chain_spec& spec) {
  auto bits = is_ipv4(ip) ? 96u + spec.subnet_prefix_v4 : std::uint32_t{spec.subnet_prefix_v6};
  std::vector<std::uint8_t> out(ip.begin(), ip.end());
  for (std::uint32_t i = 0; i < 128; ++i)
    if (i >= bits)
      out[i / 8] &= static_cast<std::uint8_t>(~(0x80u >> (i % 8)));
  return out;
}

/// Makes room for a new inbound peer when the inbound slots are full: false if every inbound
/// peer is protected (runtime/net/peer_eviction) and the newcomer must be refused.
bool evict_inbound(peer_manager_pointer self) {
  auto& st = self->state;
  std::vector<eviction_candidate> candidates;
  for (const auto& [id, e] : st.entries) {
    if (e.type != connection_type::inbound || e.closing)
      continue;
    eviction_candidate c;
    c.id = id;
    c.connected = e.started;
    c.min_ping_us = e.score.min_ping_us;
    c.last_block = e.score.last_block;
    c.last_tx = e.score.last_tx;
    c.relays_txs = !e.ready || e.info.relay;
    c.local = classify(e.ip) == ip_class::loopback;
    c.group = network_group(e.ip, st.spec->allow_private_addresses);
    c.group_key = siphash24(st.group_key, c.group);
    candidates.push_back(std::move(c));
  }
  auto victim = select_peer_to_evict(std::move(candidates));
  if (!victim)
    return false;
  auto& e = st.entries.at(*victim);
  e.closing = true;
  ++st.inbound_evicted;
  st.log.info("peer evicted", {{"peer", std::to_string(*victim)},
                               {"remote", format_endpoint(e.ip, e.port)},
                               {"reason", "inbound slots full"}});
  self->send(e.session, close_atom::value, close_reason::evicted,
             "inbound slots full; made room for a new peer");
  return true;
}

/// The inbound connections from `ip` and from its subnet.
std::pair<std::size_t, std::size_t> inbound_from(const peer_manager_state& st, const ip_bytes& ip) {
  std::size_t same_ip = 0, same_subnet = 0;
  auto subnet = subnet_of(ip, *st.spec);
  for (const auto& [id, e] : st.entries) {
    if (e.type != connection_type::inbound || e.closing)
      continue;
    same_ip += e.ip == ip ? 1 : 0;
    same_subnet += subnet_of(e.ip, *st.spec) == subnet ? 1 : 0;
  }
  return {same_ip, same_subnet};
}

/// Why an inbound connection from `ip` is refused, or nothing if it is welcome.
std::optional<std::string> refusal(peer_manager_pointer self, const ip_bytes& ip) {
  auto& st = self->state;
  if (!st.sync)
    return "starting up";
  if (!may_connect(self, ip))
    return "banned";
  auto [same_ip, same_subnet] = inbound_from(st, ip);
  if (same_ip >= st.spec->max_connections_per_ip)
    return "too many connections from this address";
  if (same_subnet >= st.spec->max_connections_per_subnet)
    return "too many connections from this subnet";
  // Last, so that nobody is evicted for a newcomer refused anyway.
  if (count_type(st, connection_type::inbound) >= inbound_slots(st) && !evict_inbound(self))
    return "inbound slots full";
  return std::nullopt;
}

} // namespace

/// Whether the security policy lets `ip` connect now (in or out).
bool may_connect(peer_manager_pointer self, const ip_bytes& ip) {
  return !self->state.bans.banned(ip, self->clock().now());
}

/// Tells the security policy how a peer's session ended: a protocol violation bans its address;
/// an outbound connection that reached ourselves is never dialled again.
void report_conduct(peer_manager_pointer self, const pool_entry& entry, const peer_closed& closed) {
  auto& st = self->state;
  auto now = self->clock().now();
  if (is_violation(closed.reason)) {
    st.bans.misbehaved(entry.ip, to_string(closed.reason) + ": " + closed.detail, now,
                       st.spec->ban_duration);
    st.log.warning("peer banned", {{"remote", closed.remote},
                                   {"reason", to_string(closed.reason)},
                                   {"detail", closed.detail},
                                   {"seconds", std::to_string(st.spec->ban_duration.count())}});
  }
  if (closed.reason == close_reason::self_connection && entry.type != connection_type::inbound)
    st.bans.ban(entry.ip, now + std::chrono::hours{24 * 365});
}

/// An inbound connection on `link`: a session is started and attached to it, or the link closed.
void accept_inbound(peer_manager_pointer self, const std::string& host, std::uint16_t port,
                    const accepted_link_actor& link) {
  auto& st = self->state;
  auto ip = parse_ip(host);
  auto why = ip ? refusal(self, *ip) : std::optional<std::string>{"unparsable remote address"};
  if (why) {
    ++st.inbound_refused;
    st.log.info("inbound connection refused",
                {{"remote", host + ":" + std::to_string(port)}, {"reason", *why}});
    self->send(link, close_atom::value);
    return;
  }
  auto id = spawn_session(self, connection_type::inbound, *ip, port, transport_kind::noise,
                          std::nullopt, std::nullopt);
  auto session = st.entries.at(id).session;
  self->send(link, attach_atom::value, session);
  self->send(session, link_atom::value, peer_link_actor{link});
}

} // namespace qtc
