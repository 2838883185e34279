// The peer manager's start-up and its behaviour: a dispatcher over the pool's parts
// (actors/peer_pool.cpp, peer_outbound.cpp, peer_admission.cpp, peer_addresses.cpp,
// peer_scoring.cpp), which share actors/peer_manager_state.hpp.
#include "actors/peer_manager.hpp"

#include "actors/p2p_listener.hpp"
#include "messages/errors.hpp"
#include "runtime/io/free_memory.hpp"

#include <botan/system_rng.h>
#include <caf/io/middleman.hpp>
#include <caf/io/network/default_multiplexer.hpp>

#include <cstring>

namespace qtc {

namespace {

constexpr auto tick_interval = std::chrono::seconds{1};

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

/// The state from the configuration: RNG, secrets, address tables, the operator's peers.
void init_state(peer_manager_pointer self, peer_manager_config& config) {
  auto& st = self->state;
  st.log = logger{self->system(), "peers"};
  st.metrics = metrics_client{self->system()};
  st.spec = std::move(config.spec);
  st.context = std::move(config.context);
  st.settings = std::move(config.settings);
  st.pool = std::move(config.pool);
  st.dialer = std::move(config.dialer);
  st.address = std::move(config.address);
  st.parent = std::move(config.parent);
  st.rng.seed(st.pool.seed != 0 ? st.pool.seed : std::random_device{}());
  st.unix = unix_clock{self->clock()};
  st.last_refresh = self->clock().now(); // discovery's own first round is under way
  st.traffic_since = st.last_refresh;
  auto group_secret = new_secret(st);
  std::copy_n(group_secret.begin(), st.group_key.size(), st.group_key.begin());
  auto relay_secret = new_secret(st);
  std::array<std::uint8_t, 16> relay_key{};
  std::copy_n(relay_secret.begin(), relay_key.size(), relay_key.begin());
  st.relayed = relay_filter{relay_key};
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
}

/// A monitored actor stopped: one of our sessions, discovery, or the sync coordinator.
void on_down(peer_manager_pointer self, const caf::down_msg& msg) {
  auto& st = self->state;
  if (on_session_down(self, msg))
    return;
  st.discovery.lost(msg); // found again when next needed
  st.nat.lost(msg);       // found again on the next tick
  if (st.security.lost(msg)) {
    st.log.info("security manager stopped; looking for its successor");
    find_security(self);
  }
  if (st.sync.lost(msg)) {
    st.log.info("sync coordinator stopped; looking for its successor");
    find_sync(self);
  }
}

/// Sessions that closed hand their buffers back to the heap, where glibc keeps them: after
/// closes (attackers that each held megabytes), the free pages go back to the system every 10 s
/// for a minute (runtime/io/free_memory). A minute, not once: a closed connection's unwritten
/// bytes stay in the socket layer until the peer reads or goes, which may be much later.
void release_closed_buffers(peer_manager_pointer self) {
  auto& st = self->state;
  auto now = self->clock().now();
  if (!st.closed_any || now - st.last_close > std::chrono::minutes{1}
      || now - st.last_trim < std::chrono::seconds{10})
    return;
  st.last_trim = now;
  release_free_memory();
}

void on_tick(peer_manager_pointer self) {
  release_closed_buffers(self);
  find_security(self); // while there is none (not started yet, or restarting)
  find_nat(self);
  fill_slots(self);
  replace_poor_outbound(self);
  maybe_start_feeler(self);
  refresh_discovery(self);
  update_bandwidth(self);
  save_addresses(self);
  self->delayed_send(self, tick_interval, tick_atom::value);
}

} // namespace

peer_manager_actor::behavior_type peer_manager(peer_manager_pointer self,
                                               peer_manager_config config) {
  init_state(self, config);
  load_addresses(self);
  if (config.sync) {
    self->state.sync.set(config.sync);
    self->monitor(config.sync);
    self->send(config.sync, subscribe_atom::value, sync_subscriber_actor{self});
  } else {
    find_sync(self);
  }
  find_security(self);
  self->set_down_handler([self](const caf::down_msg& msg) { on_down(self, msg); });
  self->send(self, tick_atom::value);
  return {
      [self](status_atom, status_verbosity v) { return pool_status(self, v); },
      [self](ready_atom, peer_info& info) { on_ready(self, info); },
      [self](bans_atom, const std::vector<ban_view>& bans) { on_bans(self, bans); },
      [self](bans_atom, const ban_view& ban) { on_ban(self, ban); },
      [self](advertise_atom, const self_advertisement& adv) { on_advertisement(self, adv); },
      [self](closed_atom, const peer_closed& closed) { record_close(self, closed); },
      [self](peer_msg_atom, std::uint64_t id, p2p_message& msg) {
        on_address_message(self, id, msg);
      },
      [self](connect_atom, const std::string& text) { connect_manual(self, text); },
      [self](connect_atom, const std::string& text, bool keep) {
        return add_node(self, text, keep);
      },
      [self](delete_atom, peers_atom, const std::string& text) { return remove_node(self, text); },
      [self](close_atom, const std::string& address, std::uint64_t id) {
        return disconnect_node(self, address, id);
      },
      [self](found_atom, const std::vector<discovered_peer>& found) {
        add_discovered(self, found);
      },
      [self](activity_atom, const peer_activity& a) { on_activity(self, a); },
      [self](useful_atom, const peer_usefulness& u) { on_useful(self, u); },
      [self](link_atom, const caf::actor& listener) { self->link_to(listener); },
      [self](best_atom, std::int32_t height) { self->state.settings.start_height = height; },
      [self](tick_atom) { on_tick(self); },
      [self](accept_atom, const std::string& host, std::uint16_t port,
             const accepted_link_actor& link) { accept_inbound(self, host, port, link); },
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
