// The peer manager's inbound side and its seam to the node's security manager.
//
// An inbound connection is a question to the security manager (actors/security_manager): its
// bans and the chain spec's [dos] per-address and per-subnet limits, which it counts; the pool
// then refuses it only when the inbound slots are full and every inbound peer is protected from
// eviction (runtime/net/peer_eviction, Bitcoin Core's rules). Outbound connections check the copy
// of the security manager's bans kept here (`may_connect`, `may_dial`: no round trip per dial).
// Every session's end reports the peer's conduct (`report_conduct`), which the security manager
// weighs. Without a security manager (tests of the peer manager alone, or while it restarts)
// the same rules run here, and a violation bans for the chain spec's ban_duration.
#include "actors/peer_manager_state.hpp"
#include "messages/errors.hpp"
#include "runtime/net/peer_eviction.hpp"
#include "runtime/net/subnet.hpp"

namespace qtc {

namespace {

/// The subnet of `ip` for the chain spec's per-subnet inbound limit.
subnet subnet_of(const ip_bytes& ip, const chain_spec& spec) {
  return qtc::subnet_of(ip, spec.subnet_prefix_v4, spec.subnet_prefix_v6);
}

/// Makes room for a new inbound peer when the inbound slots are full: false if every inbound
/// peer is protected (runtime/net/peer_eviction) and the newcomer must be refused.
bool evict_inbound(peer_manager_pointer self) {
  auto& st = self->state;
  std::vector<eviction_candidate> candidates;
  for (const auto& [id, e] : st.entries) {
    if (e.type != connection_type::inbound || e.closing
        || permissions_of(st.pool.allow, e.ip).noban)
      continue; // noban peers are never evicted (Core protects them too)
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
    c.discouraged = st.bans.discouraged(e.ip, self->clock().now());
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

/// The admission decided here when the security manager cannot be asked (absent, restarting):
/// the same rules on our copy of its bans and our own counts of the inbound connections.
admission local_admission(peer_manager_pointer self, const ip_bytes& ip) {
  auto& st = self->state;
  // The operator's own peers (noban) pass bans and the per-address and per-subnet limits, as
  // Bitcoin Core's -whitelist noban does; the slot count still applies.
  if (permissions_of(st.pool.allow, ip).noban)
    return admission::accept;
  if (!may_connect(self, ip))
    return admission::refuse_banned;
  auto [same_ip, same_subnet] = inbound_from(st, ip);
  if (same_ip >= st.spec->max_connections_per_ip)
    return admission::refuse_per_ip;
  if (same_subnet >= st.spec->max_connections_per_subnet)
    return admission::refuse_per_subnet;
  return st.bans.discouraged(ip, self->clock().now()) ? admission::accept_discouraged
                                                      : admission::accept;
}

/// Why an inbound connection the security policy answered `a` for is refused after all, or
/// nothing: the inbound slots are the pool's (evicting an unprotected peer to make room).
std::optional<std::string> slot_refusal(peer_manager_pointer self, admission a) {
  auto& st = self->state;
  if (auto why = refusal_reason(a); !why.empty())
    return why;
  if (!st.sync)
    return "starting up";
  auto full = count_type(st, connection_type::inbound) >= inbound_slots(st);
  // Discouraged: admitted only into a free slot, nobody is evicted for it (Core's rule).
  if (full && a == admission::accept_discouraged)
    return "discouraged, and no inbound slot is free";
  // Last, so that nobody is evicted for a newcomer refused anyway.
  if (full && !evict_inbound(self))
    return "inbound slots full";
  return std::nullopt;
}

/// Closes the sessions whose address is now banned (Bitcoin Core disconnects banned peers too).
void close_banned(peer_manager_pointer self) {
  auto& st = self->state;
  auto now = self->clock().now();
  for (auto& [id, e] : st.entries)
    if (!e.closing && st.bans.banned(e.ip, now) && !permissions_of(st.pool.allow, e.ip).noban) {
      e.closing = true;
      self->send(e.session, close_atom::value, close_reason::unwanted, "address banned");
    }
}

} // namespace

/// Whether the security policy lets `ip` connect now (in or out).
bool may_connect(peer_manager_pointer self, const ip_bytes& ip) {
  return !self->state.awaiting_verdict.contains(ip)
         && !self->state.bans.banned(ip, self->clock().now());
}

/// Whether an automatic outbound connection may go to `ip`: as may_connect, and not discouraged
/// (Core never dials discouraged addresses automatically; the operator's manual ones may).
bool may_dial(peer_manager_pointer self, const ip_bytes& ip) {
  return may_connect(self, ip) && !self->state.bans.discouraged(ip, self->clock().now());
}

/// The offence a session's end reports, if its reason is the peer's fault.
std::optional<offence> offence_of(const peer_closed& closed) {
  auto says = [&](std::string_view text) { return closed.detail.find(text) != std::string::npos; };
  auto inbound = closed.type == connection_type::inbound;
  switch (closed.reason) {
  case close_reason::wire_error:
    if (says("bad_checksum"))
      return offence::bad_checksum;
    return says("payload_too_large") ? offence::oversized_message : offence::malformed_message;
  case close_reason::protocol_violation:
    return offence::protocol_violation;
  case close_reason::misbehaviour:
    return says("do not connect") || says("low-work") ? offence::header_spam
                                                      : offence::relay_violation;
  case close_reason::invalid_data:
    return says("invalid block") ? offence::invalid_block : offence::invalid_header;
  // Who connects to us and then fails or drags the handshake, or trickles a frame, holds a slot
  // for nothing (slowloris). Outbound, the fault may be the address we picked: not counted.
  case close_reason::transport_failed:
    return inbound ? std::optional{offence::handshake_failure} : std::nullopt;
  case close_reason::connect_timeout:
  case close_reason::version_timeout:
    return inbound ? std::optional{offence::slow_handshake} : std::nullopt;
  case close_reason::frame_timeout:
    return offence::slow_handshake;
  case close_reason::inactivity:
    return offence::silent_peer;
  case close_reason::quantumproof_missing:
  case close_reason::quantumproof_malformed:
  case close_reason::quantumproof_invalid:
  case close_reason::pin_mismatch:
    return offence::bad_quantumproof;
  case close_reason::quantumproof_timeout:
    return inbound ? std::optional{offence::slow_handshake} : offence::bad_quantumproof;
  default:
    return std::nullopt;
  }
}

/// Tells the security policy how a peer's session ended: a fault of the peer is reported to the
/// security manager, which weighs it and bans if it must (telling us); without one, the address
/// is banned here for the chain spec's ban_duration. An outbound connection that reached
/// ourselves is never dialled again.
void report_conduct(peer_manager_pointer self, const pool_entry& entry, const peer_closed& closed) {
  auto& st = self->state;
  auto now = self->clock().now();
  if (closed.reason == close_reason::self_connection && entry.type != connection_type::inbound)
    st.bans.ban(entry.ip, now + std::chrono::hours{24 * 365});
  auto kind = offence_of(closed);
  if (!kind)
    return;
  auto what = to_string(closed.reason) + ": " + closed.detail;
  if (!st.security) {
    if (!is_violation(closed.reason))
      return; // without the security manager's weighing, only violations ban
    st.bans.misbehaved(entry.ip, what, now, st.spec->ban_duration);
    st.log.warning("peer banned", {{"remote", closed.remote},
                                   {"reason", to_string(closed.reason)},
                                   {"detail", closed.detail},
                                   {"seconds", std::to_string(st.spec->ban_duration.count())}});
    return;
  }
  st.bans.note_violation(entry.ip, what);
  peer_offence o{closed.id, entry.ip, *kind, what.substr(0, 200)};
  // The verdict is logged where it is made; a ban arrives as a subscription update before the
  // answer does (same sender, same receiver: in order).
  st.awaiting_verdict.insert(entry.ip);
  auto done = [self, ip = entry.ip] {
    auto& waiting = self->state.awaiting_verdict;
    if (auto i = waiting.find(ip); i != waiting.end())
      waiting.erase(i);
  };
  self->request(st.security.get(), std::chrono::seconds{10}, offence_atom::value, std::move(o))
      .then([done](verdict) { done(); }, [done](const caf::error&) { done(); });
}

/// A flood from a live session (it is not closed for it) goes to the security manager, once a
/// minute per session while it lasts.
void report_flood(peer_manager_pointer self, std::uint64_t id, pool_entry& entry, offence kind,
                  const std::string& detail) {
  auto& st = self->state;
  if (!st.security || !entry.floods.due(kind, self->clock().now()))
    return;
  self->request(st.security.get(), std::chrono::seconds{10}, offence_atom::value,
                peer_offence{id, entry.ip, kind, detail.substr(0, 200)})
      .then([](verdict) {}, [](const caf::error&) {});
}

/// Asks the supervisor for the security manager (again after it restarted) and subscribes to
/// its bans.
void find_security(peer_manager_pointer self) {
  if (!self->state.parent)
    return;
  self->state.security.find(
      self, self->state.parent, std::chrono::seconds{5},
      [self](const security_actor& security) {
        self->monitor(security);
        self->state.security_missing_said = false;
        // It counts our inbound connections from now on (a restarted one has lost its counts).
        std::vector<ip_bytes> open;
        for (auto& [id, e] : self->state.entries)
          if (e.type == connection_type::inbound) {
            e.admitted = true;
            open.push_back(e.ip);
          }
        self->send(security, subscribe_atom::value, ban_subscriber_actor{self}, std::move(open));
      },
      [self](const caf::error& err) {
        // Asked again every tick; said once per absence.
        auto& st = self->state;
        if (st.security_missing_said)
          return;
        st.security_missing_said = true;
        st.log.warning("security manager not found; deciding admission and bans here",
                       {{"reason", render_error(err)}});
      });
}

/// The security manager's bans in force replace our copy; sessions from newly banned addresses
/// are closed.
void on_bans(peer_manager_pointer self, const std::vector<ban_view>& bans) {
  auto& st = self->state;
  st.bans.replace_policy(bans, self->clock().now());
  close_banned(self);
}

/// One more ban in force: its addresses' sessions are closed.
void on_ban(peer_manager_pointer self, const ban_view& ban) {
  self->state.bans.add_policy(ban, self->clock().now());
  close_banned(self);
}

namespace {

/// A security manager slower than this to answer an admission: decided here (it is restarting).
constexpr auto admission_timeout = std::chrono::seconds{5};

/// Refuses an inbound connection: logged, counted, its link closed.
void refuse_inbound(peer_manager_pointer self, const std::string& remote,
                    const accepted_link_actor& link, const std::string& why) {
  auto& st = self->state;
  ++st.inbound_refused;
  st.log.info("inbound connection refused", {{"remote", remote}, {"reason", why}});
  self->send(link, close_atom::value);
}

/// Starts a session for the inbound connection from `ip` the security policy answered `a` for,
/// or refuses it. `counted`: the security manager counts it (it is told when it ends).
void admit_inbound(peer_manager_pointer self, const std::string& remote, const ip_bytes& ip,
                   std::uint16_t port, const accepted_link_actor& link, admission a, bool counted) {
  auto& st = self->state;
  if (auto why = slot_refusal(self, a)) {
    if (counted && accepted(a))
      self->send(st.security.get(), closed_atom::value, ip); // accepted there, not here
    return refuse_inbound(self, remote, link, *why);
  }
  auto id = spawn_session(self, connection_type::inbound, ip, port, transport_kind::noise,
                          std::nullopt, std::nullopt);
  auto& entry = st.entries.at(id);
  entry.admitted = counted;
  self->send(link, attach_atom::value, entry.session);
  self->send(entry.session, link_atom::value, peer_link_actor{link});
}

} // namespace

/// An inbound connection on `link`: the security manager decides whether it may stay (its bans,
/// the per-address and per-subnet limits), the pool whether a slot is free; then a session is
/// started and attached to it, or the link closed. Without an answer from the security manager
/// within admission_timeout, the same rules are applied here on our copy of its bans.
void accept_inbound(peer_manager_pointer self, const std::string& host, std::uint16_t port,
                    const accepted_link_actor& link) {
  auto& st = self->state;
  auto remote = host + ":" + std::to_string(port);
  auto parsed = parse_ip(host);
  if (!parsed)
    return refuse_inbound(self, remote, link, "unparsable remote address");
  auto ip = *parsed;
  if (!st.sync)
    return refuse_inbound(self, remote, link, "starting up");
  if (!st.security)
    return admit_inbound(self, remote, ip, port, link, local_admission(self, ip), false);
  self->request(st.security.get(), admission_timeout, accept_atom::value, ip)
      .then([=](admission a) { admit_inbound(self, remote, ip, port, link, a, true); },
            [=](const caf::error& err) {
              self->state.log.debug("no admission from the security manager; deciding here",
                                    {{"remote", remote}, {"reason", render_error(err)}});
              admit_inbound(self, remote, ip, port, link, local_admission(self, ip), false);
            });
}

/// An inbound connection the security manager counted has ended: it is told, so that the
/// address's and subnet's counts go down.
void admission_closed(peer_manager_pointer self, const pool_entry& entry) {
  if (entry.admitted && self->state.security)
    self->send(self->state.security.get(), closed_atom::value, entry.ip);
}

} // namespace qtc
