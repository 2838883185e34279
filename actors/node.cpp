#include "actors/node.hpp"

#include "actors/dns_seeder.hpp"
#include "actors/health.hpp"
#include "actors/inspector.hpp"
#include "actors/metrics.hpp"
#include "actors/nat_mapper.hpp"
#include "actors/peer_manager.hpp"
#include "actors/rpc_server.hpp"
#include "actors/security_manager.hpp"
#include "actors/storage.hpp"
#include "actors/sync_coordinator.hpp"
#include "messages/components.hpp"
#include "messages/errors.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>

#include <csignal>

#include <unistd.h>

namespace qtc {

namespace {

template <caf::spawn_options Os = caf::no_spawn_options, class F, class... Ts>
child_spec child(std::string name, F fun, Ts... args) {
  child_spec result;
  result.name = std::move(name);
  result.start = [fun, args...](caf::actor_system& sys,
                                const supervisor_actor&) -> caf::expected<caf::actor> {
    return caf::actor_cast<caf::actor>(sys.spawn<Os>(fun, args...));
  };
  return result;
}

} // namespace

session_settings session_settings_for(const chain_spec& spec) {
  session_settings s;
  s.magic = spec.magic;
  s.max_message_size = spec.max_message_size;
  s.protocol_version = spec.protocol_version;
  s.min_protocol_version = spec.min_protocol_version;
  s.user_agent = std::string{"/qtcnode:"} + QTC_VERSION + "/";
  s.connect_timeout = spec.connection_timeout;
  return s;
}

std::shared_ptr<const channel_context>
make_channel_context(std::shared_ptr<const node_identity> identity, const chain_spec& spec,
                     pq_policy pq, std::optional<std::chrono::system_clock::time_point> tls_now) {
  auto context = std::make_shared<channel_context>();
  context->identity = identity.get();
  context->noise_static = noise::keypair::from_private(identity->static_private());
  context->magic = spec.magic;
  context->pq = pq;
  context->tls.pq = pq;
  context->tls.now = tls_now;
  // The context points at the identity: the deleter's capture keeps the identity alive as long.
  return std::shared_ptr<const channel_context>(context.get(),
                                                [context, identity](const channel_context*) {});
}

child_spec storage_child(std::filesystem::path data_dir, const chain_spec& spec, commit_mode mode) {
  child_spec store;
  store.name = component<storage_actor>::name;
  store.start = [dir = std::move(data_dir), spec, mode](caf::actor_system& sys,
                                                        const supervisor_actor&) {
    return start_storage(sys, dir, spec, mode);
  };
  return store;
}

child_spec sync_child(std::shared_ptr<const chain_spec> spec, sync_options options) {
  child_spec sync;
  sync.name = component<sync_actor>::name;
  sync.start = [spec, options](caf::actor_system& sys,
                               const supervisor_actor& parent) -> caf::expected<caf::actor> {
    return caf::actor_cast<caf::actor>(sys.spawn(sync_coordinator, spec, parent, options));
  };
  return sync;
}

child_spec security_child(const chain_spec& spec, std::vector<allow_entry> allow,
                          attack_detectors::config detectors) {
  security_settings settings;
  settings.allow = std::move(allow);
  settings.detectors = detectors;
  auto& config = settings.policy;
  config.ban_threshold = spec.ban_threshold;
  config.ban_duration = spec.ban_duration;
  config.max_connections_per_ip = spec.max_connections_per_ip;
  config.max_connections_per_subnet = spec.max_connections_per_subnet;
  config.subnet_prefix_v4 = spec.subnet_prefix_v4;
  config.subnet_prefix_v6 = spec.subnet_prefix_v6;
  settings.rates.max_messages_per_minute = spec.max_messages_per_minute;
  settings.rates.max_bytes_per_minute = spec.max_bytes_per_minute;
  child_spec security;
  security.name = component<security_actor>::name;
  security.start = [settings](caf::actor_system& sys,
                              const supervisor_actor& parent) -> caf::expected<caf::actor> {
    return caf::actor_cast<caf::actor>(sys.spawn(security_manager, settings, parent));
  };
  return security;
}

child_spec nat_child(const chain_spec& spec, std::vector<std::string> dns_servers,
                     std::uint16_t port) {
  nat_mapper_config config;
  config.settings = spec.nat;
  config.allow_private = spec.allow_private_addresses;
  config.listen_port = port;
  child_spec nat;
  nat.name = component<nat_actor>::name;
  nat.shutdown_timeout = nat_shutdown_timeout; // removing a UPnP mapping takes a request
  nat.start = [config, servers = std::move(dns_servers)](
                  caf::actor_system& sys, const supervisor_actor&) -> caf::expected<caf::actor> {
    std::shared_ptr<dns_resolver> resolver;
    if (config.settings.enabled) {
      std::string error;
      resolver = make_cares_resolver(servers, std::chrono::milliseconds{2000}, 2, error);
      if (!resolver)
        return make_error(errc::invalid_config, "nat: " + error);
    }
    return caf::actor_cast<caf::actor>(
        sys.spawn(nat_mapper, config, host_nat_environment(std::move(resolver))));
  };
  return nat;
}

child_spec rpc_child(const node_options& options, const chain_spec& spec) {
  rpc_server_config config;
  config.host = options.rpc_host;
  config.port = options.rpc_port.value_or(spec.default_rpc_port);
  config.data_dir = options.data_dir;
  config.rpcauth = options.rpc_auth;
  config.chain = spec.network;
  config.facts.user_agent = session_settings_for(spec).user_agent;
  config.facts.version = QTC_VERSION;
  config.facts.protocol_version = spec.protocol_version;
  // `stop` ends the node exactly as SIGTERM does: qtcnode's main thread takes the signal
  // (process-directed: every thread blocks it, main waits for it) and stops the root.
  config.request_shutdown = [] { ::kill(::getpid(), SIGTERM); };
  child_spec rpc;
  rpc.name = component<rpc_actor>::name;
  rpc.start = [config](caf::actor_system& sys,
                       const supervisor_actor& parent) -> caf::expected<caf::actor> {
    // Detached: stopping the HTTP server joins its threads, never on a scheduler thread.
    return caf::actor_cast<caf::actor>(sys.spawn<caf::detached>(rpc_server, config, parent));
  };
  return rpc;
}

supervisor_spec make_node_tree(const node_options& options, const chain_spec& spec,
                               std::shared_ptr<const node_identity> identity,
                               log_sink_actor log_sink) {
  supervisor_spec root;
  root.name = "root";
  root.strategy = restart_strategy::one_for_one;
  root.intensity = restart_intensity{5, std::chrono::seconds{30}};
  root.backoff = restart_backoff{std::chrono::milliseconds{100}, 2.0, std::chrono::seconds{5}};
  root.event_observer = options.metrics_enabled ? component<metrics_actor>::name : "";
  root.children.push_back(storage_child(options.data_dir, spec));
  if (options.metrics_enabled) {
    // Detached: stopping the HTTP server joins its threads, which must not hold a scheduler
    // thread. It takes up to 2 s (civetweb's master thread polls its sockets in 2 s quanta and
    // sees the stop request only after one), so the default 2 s shutdown timeout often killed it.
    auto spec = child<caf::detached>(component<metrics_actor>::name, metrics,
                                     metrics_endpoint{options.metrics_host, options.metrics_port});
    spec.shutdown_timeout = std::chrono::seconds{4};
    root.children.push_back(std::move(spec));
  }
  if (options.metrics_enabled) {
    // Its verdicts are served on the metrics endpoint: without one there is nobody to tell.
    child_spec checks;
    checks.name = component<health_actor>::name;
    health_options judged;
    judged.thresholds.window = options.health_window;
    judged.thresholds.max_sync_stall = options.health_sync_stall;
    checks.start = [judged](caf::actor_system& sys,
                            const supervisor_actor& parent) -> caf::expected<caf::actor> {
      return caf::actor_cast<caf::actor>(sys.spawn(health, parent, judged));
    };
    root.children.push_back(std::move(checks));
  }
  root.children.push_back(security_child(spec, options.allow, options.detectors));
  child_spec discovery;
  discovery.name = component<discovery_actor>::name;
  discovery.start = [servers = options.dns_servers,
                     spec](caf::actor_system& sys,
                           const supervisor_actor& parent) -> caf::expected<caf::actor> {
    std::string error;
    std::shared_ptr<dns_resolver> resolver =
        make_cares_resolver(servers, std::chrono::milliseconds{2000}, 2, error);
    if (!resolver)
      return make_error(errc::invalid_config, "discovery: " + error);
    return caf::actor_cast<caf::actor>(
        sys.spawn(dns_seeder, std::make_shared<const chain_spec>(spec), resolver,
                  dns_seeder_options{}, parent, address_sink_actor{}));
  };
  root.children.push_back(std::move(discovery));
  std::uint16_t port = options.p2p_any_port    ? 0
                       : options.p2p_port != 0 ? options.p2p_port
                                               : spec.default_port;
  root.children.push_back(nat_child(spec, options.dns_servers, port));
  auto shared_spec = std::make_shared<const chain_spec>(spec);
  sync_options sync;
  sync.max_upload_target = options.max_upload_target;
  root.children.push_back(sync_child(shared_spec, sync));
  child_spec peers;
  peers.name = component<peer_manager_actor>::name;
  peer_manager_config pm;
  pm.spec = shared_spec;
  pm.settings = session_settings_for(spec);
  pm.context = make_channel_context(identity, spec, options.pq);
  pm.pool.max_connections = spec.max_connections;
  pm.pool.full_relay_slots = options.outbound_full_relay;
  pm.pool.allow = options.allow;
  pm.pool.block_relay_slots = options.outbound_block_relay;
  for (const auto& [list, out] : {std::pair{&options.connect, &pm.pool.connect},
                                  std::pair{&options.addnode, &pm.pool.addnode}})
    for (const auto& text : *list) {
      std::string error;
      if (auto entry = parse_address_entry(text, error)) // checked when the options were read
        out->push_back(*entry);
    }
  peers.start = [pm, port, host = options.p2p_host](caf::actor_system& sys,
                                                    const supervisor_actor& parent) {
    auto config = pm;
    config.parent = parent;
    return start_peer_manager(sys, host, port, std::move(config));
  };
  root.children.push_back(std::move(peers));
  child_spec insp;
  insp.name = component<inspector_actor>::name;
  inspector_config ic;
  ic.node_name = options.node_name;
  ic.host = options.inspector_host;
  ic.port = options.inspector_port;
  ic.data_dir = options.data_dir;
  ic.log_sink = std::move(log_sink);
  insp.start = [ic](caf::actor_system& sys, const supervisor_actor& parent) {
    return start_inspector(sys, parent, ic);
  };
  root.children.push_back(std::move(insp));
  if (options.rpc_port.value_or(spec.default_rpc_port) != 0)
    root.children.push_back(rpc_child(options, spec));
  return root;
}

} // namespace qtc
