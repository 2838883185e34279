#include "actors/simulation/simulated_node.hpp"

#include "actors/dns_seeder.hpp"
#include "actors/node.hpp"
#include "actors/support/unix_clock.hpp"
#include "messages/components.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/send.hpp>

namespace qtc {

std::chrono::system_clock::time_point simulated_tls_time() {
  return std::chrono::system_clock::time_point{std::chrono::seconds{simulated_unix_epoch}};
}

supervisor_spec make_simulated_node(simulated_node_config config) {
  supervisor_spec root;
  root.name = "node-" + config.ip;
  root.strategy = restart_strategy::one_for_one;
  root.intensity = restart_intensity{5, std::chrono::seconds{30}};
  root.backoff = restart_backoff{std::chrono::milliseconds{100}, 2.0, std::chrono::seconds{5}};
  root.children.push_back(storage_child(config.data_dir, *config.spec, config.store_commits));
  root.children.push_back(security_child(*config.spec, config.pool.allow));
  if (config.resolver) {
    child_spec discovery;
    discovery.name = component<discovery_actor>::name;
    discovery.start = [spec = config.spec, resolver = config.resolver](
                          caf::actor_system& sys,
                          const supervisor_actor& parent) -> caf::expected<caf::actor> {
      return caf::actor_cast<caf::actor>(sys.spawn(dns_seeder, spec, resolver, dns_seeder_options{},
                                                   parent, address_sink_actor{}));
    };
    root.children.push_back(std::move(discovery));
  }
  root.children.push_back(
      sync_child(config.spec, sync_options{config.download, config.max_upload_target,
                                           (config.pool.seed ^ 0x5c) | 1}));
  child_spec peers;
  peers.name = component<peer_manager_actor>::name;
  auto port = config.port != 0 ? config.port : config.spec->default_port;
  peer_manager_config pm;
  pm.address = config.ip + ":" + std::to_string(port);
  pm.spec = config.spec;
  pm.settings = session_settings_for(*config.spec);
  pm.context = make_channel_context(config.identity, *config.spec, pq_policy::required,
                                    simulated_tls_time());
  pm.pool = config.pool; // max_connections as given (tests shrink the pool)
  pm.dialer = std::make_shared<memory_dialer>(config.network, config.ip);
  peers.start =
      [pm, network = config.network](caf::actor_system& sys,
                                     const supervisor_actor& parent) -> caf::expected<caf::actor> {
    auto cfg = pm;
    cfg.parent = parent;
    auto manager = sys.spawn(peer_manager, cfg);
    caf::anon_send(network, put_atom::value, cfg.address, manager);
    return caf::actor_cast<caf::actor>(manager);
  };
  root.children.push_back(std::move(peers));
  return root;
}

} // namespace qtc
