// The peer manager's addresses: the keyed new/tried tables (runtime/net/address_manager), kept
// in storage and reloaded at start; addr/addrv2/getaddr from peers (rate-limited, relayed when
// small and fresh, as Bitcoin Core does); our own address told to outbound peers; and discovery,
// asked for more when a slot waits for an address the tables do not have.
#include "actors/peer_manager_state.hpp"
#include "messages/errors.hpp"

#include <algorithm>
#include <cstdlib>

namespace qtc {

namespace {

constexpr std::size_t max_getaddr_answer = 1000;
constexpr double addr_tokens_per_second = 0.1; ///< Bitcoin Core's MAX_ADDR_RATE_PER_SECOND
constexpr std::size_t max_relay_entries = 10;  ///< larger addr messages are not relayed
constexpr std::int64_t relay_max_age = 600;    ///< seconds: only fresh addresses are relayed
constexpr std::size_t relay_fanout = 2;

/// Takes the stored tables; addresses learned meanwhile are kept.
void take_stored_tables(peer_manager_pointer self, const bytes& raw) {
  auto& st = self->state;
  st.addrman_loaded = true;
  if (raw.empty())
    return;
  std::string error;
  auto loaded =
      address_manager::deserialize(raw, st.spec->allow_private_addresses, st.rng(), error);
  if (!loaded) {
    // Lose nothing else: start with an empty table and say why.
    st.log.warning("stored peer table unreadable; starting without it", {{"reason", error}});
    return;
  }
  auto now = unix_now(self);
  auto current = st.addrman->sample(std::size_t(-1), 100, now);
  st.addrman = std::make_unique<address_manager>(std::move(*loaded));
  for (const auto& p : current)
    st.addrman->add({p}, p.ip, now);
  st.log.info("peer table loaded", {{"new", std::to_string(st.addrman->new_count())},
                                    {"tried", std::to_string(st.addrman->tried_count())}});
}

/// Sends fresh addresses from peer `from` on to two other ready full-relay peers, each address
/// once until it is announced 10 minutes later (relay_filter: otherwise an announcement would
/// circle the network while fresh).
void relay_addresses(peer_manager_pointer self, std::uint64_t from,
                     std::vector<timed_address> addresses) {
  auto& st = self->state;
  std::erase_if(addresses, [&](const timed_address& t) {
    return !st.relayed.should_relay(t.address.ip, t.address.port, t.time);
  });
  if (addresses.empty())
    return;
  std::vector<const pool_entry*> targets;
  for (const auto& [id, e] : st.entries)
    if (id != from && e.ready && e.type != connection_type::block_relay
        && e.type != connection_type::feeler)
      targets.push_back(&e);
  std::shuffle(targets.begin(), targets.end(), st.rng);
  for (std::size_t i = 0; i < targets.size() && i < relay_fanout; ++i)
    self->send(targets[i]->session, send_atom::value, p2p_message{addr_message{addresses}});
}

/// getaddr is answered once per connection and only to inbound peers (Bitcoin Core's rule:
/// answering outbound peers would let them learn our whole table through repeated connections).
void answer_getaddr(peer_manager_pointer self, pool_entry& e) {
  auto& st = self->state;
  if (e.getaddr_answered || e.type != connection_type::inbound)
    return;
  e.getaddr_answered = true;
  auto now_unix = unix_now(self);
  addr_message reply;
  for (const auto& p : st.addrman->sample(max_getaddr_answer, 23, now_unix)) {
    timed_address a;
    a.time = static_cast<std::uint32_t>(now_unix);
    a.address.services = 1;
    a.address.ip = p.ip;
    a.address.port = p.port;
    reply.addresses.push_back(a);
  }
  self->send(e.session, send_atom::value, p2p_message{std::move(reply)});
}

/// What one addr/addrv2 message offered: the addresses for the tables, and the fresh ones that
/// may travel on.
struct offered_addresses {
  std::vector<discovered_peer> found;
  std::vector<timed_address> relayable;
  std::size_t offered = 0;
  std::size_t rate_limited = 0; ///< of them, past the peer's address rate limit
};

/// Addresses past the rate limit in one message that make it a flood: an honest peer announces
/// at most 10 unasked, and its answer to our getaddr (up to 1000) fits the bucket's extra 1000.
constexpr std::size_t addr_flood_entries = 100;

/// Takes one offered address: rate-limited first (Core processes in order and drops what
/// exceeds the peer's bucket), then kept if it is an address peers may use.
void take_address(peer_manager_pointer self, pool_entry& e, offered_addresses& out,
                  const ip_bytes& ip, std::uint16_t port, std::uint32_t time) {
  auto& st = self->state;
  ++out.offered;
  if (!e.addr_tokens->take(self->clock().now())) {
    ++e.addresses_rate_limited;
    ++out.rate_limited;
    return;
  }
  if (!usable_peer_address(ip, st.spec->allow_private_addresses) || port == 0)
    return;
  if (std::llabs(unix_now(self) - static_cast<std::int64_t>(time)) <= relay_max_age) {
    timed_address t;
    t.time = time;
    t.address.services = 1;
    t.address.ip = ip;
    t.address.port = port;
    out.relayable.push_back(t);
  }
  discovered_peer p;
  p.ip = ip;
  p.port = port;
  p.source = "relay:" + format_endpoint(e.ip, e.port);
  out.found.push_back(std::move(p));
}

/// The addresses of an addr or addrv2 message (addrv2 entries of networks this node cannot
/// reach are skipped).
offered_addresses take_addresses(peer_manager_pointer self, pool_entry& e, const p2p_message& msg) {
  offered_addresses out;
  if (!e.addr_tokens)
    e.addr_tokens.emplace(addr_tokens_per_second, max_getaddr_answer, 1.0, self->clock().now());
  if (auto* a = std::get_if<addr_message>(&msg)) {
    for (const auto& t : a->addresses)
      take_address(self, e, out, t.address.ip, t.address.port, t.time);
  } else if (auto* a2 = std::get_if<addrv2_message>(&msg)) {
    for (const auto& t : a2->addresses) {
      ip_bytes ip{};
      if (t.network == static_cast<std::uint8_t>(bip155_network::ipv4) && t.address.size() == 4)
        ip = ipv4(t.address[0], t.address[1], t.address[2], t.address[3]);
      else if (t.network == static_cast<std::uint8_t>(bip155_network::ipv6)
               && t.address.size() == 16)
        std::copy(t.address.begin(), t.address.end(), ip.begin());
      else
        continue;
      take_address(self, e, out, ip, t.port, t.time);
    }
  }
  return out;
}

/// Asks the supervisor for the DNS seeder (again after it restarted).
void find_discovery(peer_manager_pointer self) {
  self->state.discovery.find(
      self, self->state.parent, std::chrono::seconds{5},
      [self](const discovery_actor& discovery) { self->monitor(discovery); },
      [](const caf::error&) {}); // not running: asked again next time
}

} // namespace

/// Finds storage through the supervisor and loads the stored address tables.
void load_addresses(peer_manager_pointer self) {
  auto& st = self->state;
  if (!st.parent) {
    st.addrman_loaded = true; // tests without a node tree: nothing stored
    return;
  }
  auto not_kept = [self](const char* what) {
    return [self, what](const caf::error& err) {
      self->state.addrman_loaded = true;
      self->state.log.warning(what, {{"reason", render_error(err)}});
    };
  };
  st.storage.find(
      self, st.parent, std::chrono::seconds{5},
      [self, not_kept](const storage_actor& storage) {
        self->request(storage, std::chrono::seconds{30}, get_atom::value, peers_atom::value)
            .then([self](const bytes& raw) { take_stored_tables(self, raw); },
                  not_kept("cannot load the peer table"));
      },
      not_kept("storage not found; the peer table is not kept"));
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

/// An address message from peer `id` (sendaddrv2, getaddr, addr, addrv2).
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
  if (std::holds_alternative<getaddr_message>(msg))
    return answer_getaddr(self, e);
  auto offered = take_addresses(self, e, msg);
  // The first addr after our getaddr is its answer (Core: cleared by any with fewer than 1000).
  auto answer = e.getaddr_sent;
  if (offered.offered < max_getaddr_answer)
    e.getaddr_sent = false;
  if (offered.rate_limited > addr_flood_entries)
    report_flood(self, id, e, offence::addr_flood,
                 std::to_string(offered.rate_limited) + " of " + std::to_string(offered.offered)
                     + " addresses past the rate limit");
  // Small announcements of fresh addresses travel on (Core: <= 10 entries, seen within 10 min)
  // to two other full-relay peers chosen at random; answers to our getaddr do not (a small one
  // carries the answering node's time, not an announcement).
  if (!answer && offered.offered <= max_relay_entries && !offered.relayable.empty())
    relay_addresses(self, id, std::move(offered.relayable));
  if (offered.found.empty())
    return;
  auto added = st.addrman->add(offered.found, e.ip, unix_now(self));
  st.addrman_dirty |= added > 0;
  st.log.info("addresses received", {{"peer", std::to_string(id)},
                                     {"remote", format_endpoint(e.ip, e.port)},
                                     {"count", std::to_string(offered.found.size())},
                                     {"new", std::to_string(added)},
                                     {"rate_limited", std::to_string(e.addresses_rate_limited)}});
}

/// Candidate addresses from discovery: each is its own source, bucketed by its own group.
void add_discovered(peer_manager_pointer self, const std::vector<discovered_peer>& found) {
  auto& st = self->state;
  std::size_t added = 0;
  for (const auto& p : found)
    added += st.addrman->add({p}, p.ip, unix_now(self));
  st.addrman_dirty |= added > 0;
  st.log.debug("addresses added",
               {{"new", std::to_string(added)}, {"offered", std::to_string(found.size())}});
  fill_slots(self);
}

/// Outbound full-relay peers are asked for addresses (Bitcoin Core does the same), which grants
/// them a full bucket for the answer, and told where we can be reached.
void ask_for_addresses(peer_manager_pointer self, pool_entry& e) {
  self->send(e.session, send_atom::value, p2p_message{getaddr_message{}});
  e.getaddr_sent = true;
  e.addr_tokens.emplace(addr_tokens_per_second, max_getaddr_answer, 1.0, self->clock().now());
  e.addr_tokens->grant(max_getaddr_answer);
  advertise_self(self, e);
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

} // namespace qtc
