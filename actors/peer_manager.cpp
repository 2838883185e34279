#include "actors/peer_manager.hpp"

#include "actors/support/status_fields.hpp"
#include "actors/support/metric_names.hpp"
#include "actors/p2p_listener.hpp"
#include "actors/peer_session.hpp"
#include "actors/support/registry_entry.hpp"
#include "messages/errors.hpp"
#include "messages/primitives/hex.hpp"
#include "runtime/net/peer_eviction.hpp"

#include <botan/system_rng.h>
#include <caf/actor_cast.hpp>
#include <caf/actor_registry.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/network/default_multiplexer.hpp>
#include <caf/stateful_actor.hpp>

#include <cstdlib>
#include <cstring>
#include <random>

namespace qtc {

namespace {

constexpr auto tick_interval = std::chrono::seconds{1};
constexpr std::size_t max_recent_closes = 32;
constexpr std::size_t max_getaddr_answer = 1000;
constexpr double addr_tokens_per_second = 0.1; ///< Bitcoin Core's MAX_ADDR_RATE_PER_SECOND
constexpr std::size_t max_relay_entries = 10;  ///< larger addr messages are not relayed
constexpr std::int64_t relay_max_age = 600;    ///< seconds: only fresh addresses are relayed
constexpr std::size_t relay_fanout = 2;
constexpr auto poor_check_interval = std::chrono::seconds{10};
constexpr auto probe_response_time = std::chrono::minutes{2}; ///< Core's HEADERS_RESPONSE_TIME
constexpr auto bandwidth_window = std::chrono::seconds{5};

using clock_type = std::chrono::steady_clock;

std::size_t count_type(const peer_manager_state& st, connection_type t) {
  std::size_t n = 0;
  for (const auto& [id, e] : st.entries)
    if (e.type == t && !e.closing)
      ++n;
  return n;
}

/// Unix seconds on the actor clock (virtual in the simulator, so the address manager's ages are).
std::int64_t unix_now(peer_manager_pointer self) {
  return self->state.unix.now();
}

/// The address manager's bucketing secret: from the system RNG in production, from the seed in
/// the simulator (reproducible runs).
address_manager::secret new_secret(peer_manager_state& st) {
  address_manager::secret key{};
  if (st.pool.seed == 0) {
    Botan::System_RNG{}.randomize(key.data(), key.size());
  } else {
    for (std::size_t i = 0; i < key.size(); i += 8) {
      auto x = st.rng();
      std::memcpy(key.data() + i, &x, 8);
    }
  }
  return key;
}

/// Finds storage through the supervisor and loads the stored address tables; addresses learned
/// meanwhile are kept.
void load_addresses(peer_manager_pointer self) {
  auto& st = self->state;
  if (!st.parent) {
    st.addrman_loaded = true; // tests without a node tree: nothing stored
    return;
  }
  st.storage.find(
      self, st.parent, std::chrono::seconds{5},
      [self](const storage_actor& storage) {
            self->request(storage, std::chrono::seconds{30}, get_atom::value,
                          peers_atom::value)
                .then(
                    [self](const bytes& raw) {
                      auto& st = self->state;
                      st.addrman_loaded = true;
                      if (raw.empty())
                        return;
                      std::string error;
                      auto loaded = address_manager::deserialize(
                          raw, st.spec->allow_private_addresses, st.rng(), error);
                      if (!loaded) {
                        // Lose nothing else: start with an empty table and say why.
                        st.log.warning("stored peer table unreadable; starting without it",
                                       {{"reason", error}});
                        return;
                      }
                      auto now = unix_now(self);
                      auto current = st.addrman->sample(std::size_t(-1), 100, now);
                      st.addrman = std::make_unique<address_manager>(std::move(*loaded));
                      for (const auto& p : current)
                        st.addrman->add({p}, p.ip, now);
                      st.log.info("peer table loaded",
                                  {{"new", std::to_string(st.addrman->new_count())},
                                   {"tried", std::to_string(st.addrman->tried_count())}});
                    },
                    [self](const caf::error& err) {
                      self->state.addrman_loaded = true;
                      self->state.log.warning("cannot load the peer table",
                                              {{"reason", render_error(err)}});
                    });
          },
          [self](const caf::error& err) {
            self->state.addrman_loaded = true;
            self->state.log.warning("storage not found; the peer table is not kept",
                                    {{"reason", render_error(err)}});
          });
}

/// Stores the address tables when they changed, at most once a minute.
void save_addresses(peer_manager_pointer self) {
  auto& st = self->state;
  auto now = self->clock().now();
  if (!st.storage || !st.addrman_loaded || !st.addrman_dirty
      || now - st.last_save < std::chrono::minutes{1})
    return;
  st.last_save = now;
  st.addrman_dirty = false;
  self->request(st.storage.get(), std::chrono::seconds{30}, put_atom::value, peers_atom::value,
                st.addrman->serialize())
      .then(
          [](bool) {},
          [self](const caf::error& err) {
            self->state.log.warning("cannot store the peer table", {{"reason", render_error(err)}});
          });
}

std::size_t ready_count(const peer_manager_state& st) {
  std::size_t n = 0;
  for (const auto& [id, e] : st.entries)
    n += e.ready && !e.closing ? 1 : 0; // a feeler's moment of readiness is not a connection
  return n;
}

std::uint32_t outbound_slots(const peer_manager_state& st) {
  return st.pool.full_relay_slots + st.pool.block_relay_slots
         + static_cast<std::uint32_t>(st.manual.size());
}

std::uint32_t inbound_slots(const peer_manager_state& st) {
  auto out = outbound_slots(st);
  return st.pool.max_connections > out ? st.pool.max_connections - out : 0;
}

/// The subnet of `ip` for the chain spec's per-subnet inbound limit.
std::vector<std::uint8_t> subnet_of(const ip_bytes& ip, const chain_spec& spec) {
  auto bits = is_ipv4(ip) ? 96u + spec.subnet_prefix_v4 : std::uint32_t{spec.subnet_prefix_v6};
  std::vector<std::uint8_t> out(ip.begin(), ip.end());
  for (std::uint32_t i = 0; i < 128; ++i)
    if (i >= bits)
      out[i / 8] &= static_cast<std::uint8_t>(~(0x80u >> (i % 8)));
  return out;
}

std::optional<static_public_key> parse_pin(const std::string& hex) {
  if (hex.empty())
    return std::nullopt;
  auto raw = from_hex(hex);
  if (!raw || raw->size() != 32)
    return std::nullopt;
  static_public_key key{};
  std::copy(raw->begin(), raw->end(), key.begin());
  return key;
}

bool is_banned(peer_manager_pointer self, const ip_bytes& ip) {
  auto& st = self->state;
  auto i = st.banned.find(ip);
  if (i == st.banned.end())
    return false;
  if (i->second <= self->clock().now()) {
    st.banned.erase(i);
    return false;
  }
  return true;
}

/// Starts a session for a connection; returns its id. The link is attached by the caller.
std::uint64_t spawn_session(peer_manager_pointer self, connection_type type, const ip_bytes& ip,
                            std::uint16_t port, transport_kind transport,
                            std::optional<static_public_key> pinned,
                            std::optional<std::size_t> manual) {
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
  cfg.manager = caf::actor_cast<peer_manager_actor>(self);
  // A feeler only tests the address: the sync coordinator never hears of it.
  if (type != connection_type::feeler)
    cfg.sync = st.sync.get();
  auto session = self->spawn(peer_session, std::move(cfg));
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

/// Opens an outbound connection; false (and the failure recorded) if it could not even start.
bool connect_outbound(peer_manager_pointer self, connection_type type, const ip_bytes& ip,
                      std::uint16_t port, transport_kind transport,
                      std::optional<static_public_key> pinned, std::optional<std::size_t> manual) {
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

std::size_t pending_connects(const peer_manager_state& st) {
  std::size_t n = 0;
  for (const auto& [id, e] : st.entries)
    if (e.type != connection_type::inbound && !e.ready)
      ++n;
  return n;
}

/// The network groups of our outbound peers: a new outbound peer comes from another one.
std::set<std::vector<std::uint8_t>> outbound_groups(const peer_manager_state& st) {
  std::set<std::vector<std::uint8_t>> used;
  for (const auto& [id, e] : st.entries)
    if (e.type != connection_type::inbound && !e.closing)
      used.insert(network_group(e.ip, st.spec->allow_private_addresses));
  return used;
}

/// Asks the supervisor for the sync coordinator (again after it restarted); retries until found.
void fill_slots(peer_manager_pointer self);

void find_sync(peer_manager_pointer self) {
  self->state.sync.find(
      self, self->state.parent, std::chrono::seconds{5},
      [self](const sync_actor& sync) {
        self->monitor(sync);
        self->send(sync, subscribe_atom::value, sync_subscriber_actor{self});
        fill_slots(self); // connections wait for nothing else
      },
      [self](const caf::error&) {
        // Not running yet (it starts before us, but may be restarting): ask again shortly.
        self->delayed_send(self, std::chrono::milliseconds{200}, tick_atom::value);
      });
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
    if (m.session || m.next_try > now)
      continue;
    m.next_try = now + st.pool.manual_retry;
    if (is_banned(self, m.ip))
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
    if (connected.contains({pick->ip, pick->port}) || is_banned(self, pick->ip))
      continue;
    used.insert(network_group(pick->ip, st.spec->allow_private_addresses));
    connected.emplace(pick->ip, pick->port);
    connect_outbound(self, type, pick->ip, pick->port, first_transport(pick->tls_only),
                     parse_pin(pick->pubkey_hex), std::nullopt);
  }
}

void record_close(peer_manager_pointer self, const peer_closed& closed) {
  auto& st = self->state;
  auto i = st.entries.find(closed.id);
  if (i == st.entries.end())
    return;
  auto entry = std::move(i->second);
  st.entries.erase(i);
  auto now = self->clock().now();
  ++st.closes_by_reason[to_string(closed.reason)];
  st.recent_closes.push_back(closed);
  if (st.recent_closes.size() > max_recent_closes)
    st.recent_closes.pop_front();
  if (entry.manual)
    st.manual[*entry.manual].session.reset();
  if (entry.ready)
    st.metrics.gauge(metric_names::connections_active, {}, static_cast<double>(ready_count(st)));
  if (is_violation(closed.reason)) {
    st.banned[entry.ip] = now + st.spec->ban_duration;
    auto& v = st.violations[entry.ip];
    ++v.first;
    v.second = to_string(closed.reason) + ": " + closed.detail;
    st.log.warning("peer banned", {{"remote", closed.remote},
                                   {"reason", to_string(closed.reason)},
                                   {"detail", closed.detail},
                                   {"seconds", std::to_string(st.spec->ban_duration.count())}});
  }
  if (entry.type == connection_type::inbound)
    return;
  if (!closed.was_ready) {
    // A Noise attempt that met a peer without Noise is retried once over TLS (same slot).
    auto failure = static_cast<transport_error>(closed.transport_failure);
    if (closed.reason == close_reason::transport_failed) {
      if (auto why = tls_fallback_reason(entry.transport, failure)) {
        st.log.info("retrying over TLS", {{"remote", closed.remote}, {"reason", *why}});
        // Remembered: later connections to this peer start with TLS.
        if (entry.manual)
          st.manual[*entry.manual].entry.tls_only = true;
        st.addrman->learned_tls_only(entry.ip, entry.port);
        connect_outbound(self, entry.type, entry.ip, entry.port, transport_kind::tls, entry.pinned,
                         entry.manual);
        return;
      }
    }
    st.addrman->attempt(entry.ip, entry.port, true, unix_now(self));
    st.addrman_dirty = true;
  }
  if (closed.reason == close_reason::self_connection)
    st.banned[entry.ip] = now + std::chrono::hours{24 * 365}; // never dial ourselves again
  fill_slots(self);
}

/// Sends fresh addresses from peer `from` on to two other ready full-relay peers.
void relay_addresses(peer_manager_pointer self, std::uint64_t from,
                     const std::vector<timed_address>& addresses) {
  auto& st = self->state;
  std::vector<const pool_entry*> targets;
  for (const auto& [id, e] : st.entries)
    if (id != from && e.ready && e.type != connection_type::block_relay
        && e.type != connection_type::feeler)
      targets.push_back(&e);
  std::shuffle(targets.begin(), targets.end(), st.rng);
  for (std::size_t i = 0; i < targets.size() && i < relay_fanout; ++i)
    self->send(targets[i]->session, send_atom::value, p2p_message{addr_message{addresses}});
}

/// Tells a peer where we can be reached (if that is an address peers may use).
void advertise_self(peer_manager_pointer self, const pool_entry& e) {
  auto& st = self->state;
  auto colon = st.address.rfind(':');
  auto ip = parse_ip(st.address.substr(0, colon));
  if (!ip || !usable_peer_address(*ip, st.spec->allow_private_addresses))
    return;
  timed_address t;
  t.time = static_cast<std::uint32_t>(unix_now(self));
  t.address.services = 1;
  t.address.ip = *ip;
  t.address.port = static_cast<std::uint16_t>(std::stoi(st.address.substr(colon + 1)));
  self->send(e.session, send_atom::value, p2p_message{addr_message{{t}}});
}

void on_address_message(peer_manager_pointer self, std::uint64_t id, p2p_message& msg) {
  auto& st = self->state;
  auto i = st.entries.find(id);
  if (i == st.entries.end())
    return;
  auto& e = i->second;
  if (std::holds_alternative<sendaddrv2_message>(msg)) {
    e.wants_addrv2 = true;
    return;
  }
  if (std::holds_alternative<getaddr_message>(msg)) {
    // Answered once per connection and only to inbound peers (Bitcoin Core's rule: answering
    // outbound peers would let them learn our whole table through repeated connections).
    if (e.getaddr_answered || e.type != connection_type::inbound)
      return;
    e.getaddr_answered = true;
    auto now_unix = static_cast<std::uint32_t>(unix_now(self));
    addr_message reply;
    for (const auto& p : st.addrman->sample(max_getaddr_answer, 23, unix_now(self))) {
      timed_address a;
      a.time = now_unix;
      a.address.services = 1;
      a.address.ip = p.ip;
      a.address.port = p.port;
      reply.addresses.push_back(a);
    }
    self->send(e.session, send_atom::value, p2p_message{std::move(reply)});
    return;
  }
  std::vector<discovered_peer> found;
  std::vector<timed_address> relayable;
  auto source = "relay:" + format_endpoint(e.ip, e.port);
  auto now = self->clock().now();
  auto now_unix = unix_now(self);
  if (!e.addr_tokens)
    e.addr_tokens.emplace(addr_tokens_per_second, max_getaddr_answer, 1.0, now);
  std::size_t offered = 0;
  auto take = [&](const ip_bytes& ip, std::uint16_t port, std::uint32_t time) {
    ++offered;
    // Rate limit first (Core processes in order and drops what exceeds the bucket).
    if (!e.addr_tokens->take(now)) {
      ++e.addresses_rate_limited;
      return;
    }
    if (!usable_peer_address(ip, st.spec->allow_private_addresses) || port == 0)
      return;
    if (std::llabs(now_unix - static_cast<std::int64_t>(time)) <= relay_max_age) {
      timed_address t;
      t.time = time;
      t.address.services = 1;
      t.address.ip = ip;
      t.address.port = port;
      relayable.push_back(t);
    }
    discovered_peer p;
    p.ip = ip;
    p.port = port;
    p.source = source;
    found.push_back(std::move(p));
  };
  if (auto* a = std::get_if<addr_message>(&msg)) {
    for (const auto& t : a->addresses)
      take(t.address.ip, t.address.port, t.time);
  } else if (auto* a2 = std::get_if<addrv2_message>(&msg)) {
    for (const auto& t : a2->addresses) {
      ip_bytes ip{};
      if (t.network == static_cast<std::uint8_t>(bip155_network::ipv4) && t.address.size() == 4) {
        ip = ipv4(t.address[0], t.address[1], t.address[2], t.address[3]);
      } else if (t.network == static_cast<std::uint8_t>(bip155_network::ipv6)
                 && t.address.size() == 16) {
        std::copy(t.address.begin(), t.address.end(), ip.begin());
      } else {
        continue; // networks this node cannot reach
      }
      take(ip, t.port, t.time);
    }
  }
  // Small announcements of fresh addresses travel on (Core: <= 10 entries, seen within 10 min)
  // to two other full-relay peers chosen at random; getaddr answers (large) do not.
  if (offered <= max_relay_entries && !relayable.empty())
    relay_addresses(self, id, relayable);
  if (!found.empty()) {
    auto added = st.addrman->add(found, e.ip, now_unix);
    st.addrman_dirty |= added > 0;
    st.log.info("addresses received", {{"peer", std::to_string(id)},
                                       {"remote", format_endpoint(e.ip, e.port)},
                                       {"count", std::to_string(found.size())},
                                       {"new", std::to_string(added)},
                                       {"rate_limited", std::to_string(e.addresses_rate_limited)}});
  }
}

/// Asks the supervisor for the DNS seeder (again after it restarted).
void find_discovery(peer_manager_pointer self) {
  self->state.discovery.find(
      self, self->state.parent, std::chrono::seconds{5},
      [self](const discovery_actor& discovery) { self->monitor(discovery); },
      [](const caf::error&) {}); // not running: asked again next time
}

/// While a slot waits for an address the address manager does not have, discovery is asked to
/// query its seeds again (it honours its cache's TTLs and backoff, so this costs little).
void refresh_discovery(peer_manager_pointer self) {
  auto& st = self->state;
  auto now = self->clock().now();
  if (!st.addresses_short || !st.pool.connect.empty() || !st.parent
      || now - st.last_refresh < st.pool.refresh_interval)
    return;
  if (!st.discovery) {
    find_discovery(self);
    return;
  }
  st.last_refresh = now;
  ++st.refreshes;
  st.log.info("addresses short; asking discovery for more",
              {{"known", std::to_string(st.addrman->size())},
               {"outbound", std::to_string(count_type(st, connection_type::outbound_full_relay)
                                           + count_type(st, connection_type::block_relay))}});
  self->send(st.discovery.get(), refresh_atom::value);
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
  if (!pick || is_banned(self, pick->ip))
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

/// Seconds from `t` to now, or -1 for never.
caf::config_value::integer seconds_since(peer_manager_pointer self,
                                         std::chrono::steady_clock::time_point t) {
  if (t == std::chrono::steady_clock::time_point{})
    return -1;
  return std::chrono::duration_cast<std::chrono::seconds>(self->clock().now() - t).count();
}

caf::settings score_status(peer_manager_pointer self, const pool_entry& e) {
  const auto& s = e.score;
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
  report(r, "seconds-since-useful", seconds_since(self, s.last_useful));
  report(r, "seconds-since-block", seconds_since(self, s.last_block));
  report(r, "best-height", s.best_height);
  report(r, "connected-seconds", seconds_since(self, e.started));
  auto v = self->state.violations.find(e.ip);
  report(r, "violations", v != self->state.violations.end() ? v->second.first : 0);
  return r;
}

caf::settings pool_status(peer_manager_pointer self, status_verbosity v) {
  auto& st = self->state;
  caf::settings r;
  report(r, "name", "peers");
  report(r, "state", "listening");
  report(r, "address", st.address);
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
  report(r, "banned", st.banned.size());
  caf::settings reasons;
  for (const auto& [reason, n] : st.closes_by_reason)
    report(reasons, reason, n);
  report(r, "closed-by-reason", std::move(reasons));
  if (v != status_verbosity::info) {
    caf::config_value::list peers;
    for (const auto& [id, e] : st.entries) {
      caf::settings p;
      report(p, "id", id);
      report(p, "remote", format_endpoint(e.ip, e.port));
      report(p, "type", to_string(e.type));
      report(p, "transport", e.ready ? e.info.transport : to_string(e.transport));
      report(p, "state", e.closing ? "closing" : e.ready ? "ready" : "connecting");
      report(p, "score", score_status(self, e));
      if (e.ready) {
        report(p, "user-agent", e.info.user_agent);
        report(p, "start-height", e.info.start_height);
        report(p, "static-key", e.info.static_key_hex);
      }
      peers.emplace_back(std::move(p));
    }
    report(r, "peers", std::move(peers));
    caf::config_value::list closes;
    for (const auto& c : st.recent_closes) {
      caf::settings p;
      report(p, "remote", c.remote);
      report(p, "type", to_string(c.type));
      report(p, "reason", to_string(c.reason));
      report(p, "detail", c.detail);
      closes.emplace_back(std::move(p));
    }
    report(r, "recent-closes", std::move(closes));
    caf::config_value::list bans;
    for (const auto& [ip, until] : st.banned) {
      caf::settings b;
      report(b, "address", format_ip(ip));
      if (auto v = st.violations.find(ip); v != st.violations.end()) {
        report(b, "violations", v->second.first);
        report(b, "last-violation", v->second.second);
      }
      report(b, "seconds-left", std::chrono::duration_cast<std::chrono::seconds>(until - self->clock().now()).count());
      bans.emplace_back(std::move(b));
    }
    report(r, "bans", std::move(bans));
  }
  return r;
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

} // namespace

peer_manager_actor::behavior_type peer_manager(peer_manager_pointer self,
                                               peer_manager_config config) {
  auto& st = self->state;
  st.log = logger{self->system(), "peers"};
  st.metrics = metrics_client{self->system()};
  st.spec = std::move(config.spec);
  st.context = std::move(config.context);
  st.settings = std::move(config.settings);
  st.pool = std::move(config.pool);
  st.dialer = std::move(config.dialer);
  st.address = std::move(config.address);
  st.rng.seed(st.pool.seed != 0 ? st.pool.seed : std::random_device{}());
  st.unix = unix_clock{self->clock()};
  st.last_refresh = self->clock().now(); // discovery's own first round is under way
  st.traffic_since = st.last_refresh;
  auto group_secret = new_secret(st);
  std::copy_n(group_secret.begin(), st.group_key.size(), st.group_key.begin());
  st.addrman =
      std::make_unique<address_manager>(new_secret(st), st.spec->allow_private_addresses, st.rng());
  // The version nonce: one per node. Peers learn our static key in the transport handshake
  // anyway, so a per-connection nonce would hide nothing; one nonce lets every inbound session
  // recognise a connection to ourselves without asking anyone.
  if (st.settings.local_nonce == 0)
    st.settings.local_nonce = st.rng() | 1;
  for (const auto& list : {st.pool.connect, st.pool.addnode})
    for (const auto& entry : list) {
      std::string error;
      if (auto m = make_manual(entry, error))
        st.manual.push_back(std::move(*m));
      else
        st.log.error("configured peer ignored", {{"peer", entry.host}, {"reason", error}});
    }
  st.parent = std::move(config.parent);
  load_addresses(self);
  if (config.sync) {
    st.sync.set(config.sync);
    self->monitor(config.sync);
    self->send(config.sync, subscribe_atom::value, sync_subscriber_actor{self});
  } else {
    find_sync(self);
  }
  self->set_down_handler([self](const caf::down_msg& msg) {
    auto& st = self->state;
    st.discovery.lost(msg); // found again when next needed
    if (st.sync.lost(msg)) {
      st.log.info("sync coordinator stopped; looking for its successor");
      find_sync(self);
    }
  });
  self->send(self, tick_atom::value);
  return {
      [self](status_atom, status_verbosity v) -> status_report { return pool_status(self, v); },
      [self](ready_atom, peer_info& info) {
        auto& st = self->state;
        auto i = st.entries.find(info.id);
        if (i == st.entries.end())
          return;
        auto& e = i->second;
        if (e.type == connection_type::feeler) {
          // The address works: it moves to tried, and the connection has done its job.
          st.addrman->good(e.ip, e.port, unix_now(self));
          st.addrman_dirty = true;
          ++st.feelers_succeeded;
          e.ready = true;
          e.closing = true;
          e.info = std::move(info);
          st.log.info("feeler succeeded", {{"remote", format_endpoint(e.ip, e.port)}});
          self->send(e.session, close_atom::value, close_reason::unwanted,
                     "feeler: the address works");
          return;
        }
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
        st.metrics.gauge(metric_names::connections_active, {},
                         static_cast<double>(ready_count(st)));
        // Outbound full-relay peers are asked for addresses (Bitcoin Core does the same), which
        // grants them a full bucket for the answer, and told where we can be reached.
        if (e.type == connection_type::outbound_full_relay || e.type == connection_type::manual) {
          self->send(e.session, send_atom::value, p2p_message{getaddr_message{}});
          e.addr_tokens.emplace(addr_tokens_per_second, max_getaddr_answer, 1.0,
                                self->clock().now());
          e.addr_tokens->grant(max_getaddr_answer);
          advertise_self(self, e);
        }
      },
      [self](closed_atom, const peer_closed& closed) { record_close(self, closed); },
      [self](peer_msg_atom, std::uint64_t id, p2p_message& msg) {
        on_address_message(self, id, msg);
      },
      [self](connect_atom, const std::string& text) {
        auto& st = self->state;
        std::string error;
        auto entry = parse_address_entry(text, error);
        std::optional<manual_peer> m;
        if (entry)
          m = make_manual(*entry, error);
        if (!m) {
          st.log.warning("connect request ignored", {{"peer", text}, {"reason", error}});
          return;
        }
        st.manual.push_back(std::move(*m));
        fill_slots(self);
      },
      [self](found_atom, const std::vector<discovered_peer>& found) {
        auto& st = self->state;
        std::size_t added = 0;
        // Discovery's addresses are their own source: each is bucketed by its own group.
        for (const auto& p : found)
          added += st.addrman->add({p}, p.ip, unix_now(self));
        st.addrman_dirty |= added > 0;
        st.log.debug("addresses added",
                     {{"new", std::to_string(added)}, {"offered", std::to_string(found.size())}});
        fill_slots(self);
      },
      [self](activity_atom, const peer_activity& a) { on_activity(self, a); },
      [self](useful_atom, const peer_usefulness& u) { on_useful(self, u); },
      [self](link_atom, const caf::actor& listener) { self->link_to(listener); },
      [self](best_atom, std::int32_t height) { self->state.settings.start_height = height; },
      [self](tick_atom) {
        fill_slots(self);
        replace_poor_outbound(self);
        maybe_start_feeler(self);
        refresh_discovery(self);
        update_bandwidth(self);
        save_addresses(self);
        self->delayed_send(self, tick_interval, tick_atom::value);
      },
      [self](accept_atom, const std::string& host, std::uint16_t port, peer_link_actor& link) {
        auto& st = self->state;
        auto ip = parse_ip(host);
        auto refuse = [&](const std::string& why) {
          ++st.inbound_refused;
          st.log.info("inbound connection refused",
                      {{"remote", host + ":" + std::to_string(port)}, {"reason", why}});
          self->send(link, close_atom::value);
        };
        if (!ip)
          return refuse("unparsable remote address");
        if (!st.sync)
          return refuse("starting up");
        if (is_banned(self, *ip))
          return refuse("banned");
        std::size_t same_ip = 0, same_subnet = 0;
        auto subnet = subnet_of(*ip, *st.spec);
        for (const auto& [id, e] : st.entries) {
          if (e.type != connection_type::inbound || e.closing)
            continue;
          same_ip += e.ip == *ip ? 1 : 0;
          same_subnet += subnet_of(e.ip, *st.spec) == subnet ? 1 : 0;
        }
        if (same_ip >= st.spec->max_connections_per_ip)
          return refuse("too many connections from this address");
        if (same_subnet >= st.spec->max_connections_per_subnet)
          return refuse("too many connections from this subnet");
        // Last, so that nobody is evicted for a newcomer refused anyway.
        if (count_type(st, connection_type::inbound) >= inbound_slots(st) && !evict_inbound(self))
          return refuse("inbound slots full");
        auto id = spawn_session(self, connection_type::inbound, *ip, port, transport_kind::noise,
                                std::nullopt, std::nullopt);
        auto session = st.entries.at(id).session;
        self->send(caf::actor_cast<tcp_link_actor>(link), attach_atom::value, session);
        self->send(session, link_atom::value, link);
      },
  };
}

caf::expected<caf::actor> start_peer_manager(caf::actor_system& sys, const std::string& host,
                                             std::uint16_t port, peer_manager_config config) {
  auto& mm = sys.middleman();
  auto listener = mm.backend().new_tcp_doorman(port, host.c_str(), true);
  if (!listener)
    return make_error(errc::bind_failed, "peers: cannot listen on " + host + ":"
                                             + std::to_string(port) + ": "
                                             + render_error(listener.error()));
  auto bound = (*listener)->port();
  config.address = host + ":" + std::to_string(bound);
  // Outbound connections leave from the listening address when it is a specific one.
  std::optional<ip_bytes> bind;
  if (auto ip = parse_ip(host); ip && classify(*ip) != ip_class::unspecified)
    bind = *ip;
  config.dialer = std::make_shared<tcp_dialer>(bind);
  auto manager = sys.spawn(peer_manager, std::move(config));
  auto broker = mm.spawn_broker(p2p_listener, std::move(*listener), manager);
  // The listener and the manager live and die together.
  caf::anon_send(manager, link_atom::value, caf::actor_cast<caf::actor>(broker));
  qtc::logger{sys, "peers"}.info(
      "listening for peers",
      {{"address", host + ":" + std::to_string(bound)}, {"port", std::to_string(bound)}});
  return caf::actor_cast<caf::actor>(manager);
}

} // namespace qtc
