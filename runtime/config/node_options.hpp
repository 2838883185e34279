// The node's options: declared on CAF's actor_system_config (so they come from the CAF config
// file or the command line as `--qtcnode.key=value`, and `--help` lists them), then read and
// checked into one struct.
#pragma once

#include "messages/services.hpp"
#include "messages/transport_error.hpp"
#include "runtime/inspect/actor_meter.hpp"
#include "runtime/net/allowlist.hpp"
#include "runtime/net/attack_detectors.hpp"
#include "runtime/rpc/rpc_auth.hpp"

#include <caf/actor_system_config.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace qtc {

struct node_options {
  std::string node_name = "qtcnode";  ///< label in log lines
  std::filesystem::path data_dir;     ///< where the node keeps its state (locked while running)
  std::filesystem::path chain_spec;   ///< chain spec TOML file
  std::string p2p_host = "127.0.0.1"; ///< P2P listen address
  std::uint16_t p2p_port = 0;         ///< 0: the chain spec's default_port
  bool p2p_any_port = false;          ///< p2p-port = -1 in the config: pick a free port (tests)
  std::string metrics_host = "127.0.0.1";
  std::uint16_t metrics_port = 9333; ///< 0: pick a free port (logged)
  bool metrics_enabled = true;
  std::string inspector_host = "127.0.0.1";
  int inspector_port = 0;             ///< 0: not published; -1: any free port (logged)
  std::string rpc_host = "127.0.0.1"; ///< where the JSON-RPC server binds
  /// --qtcnode.rpc-port: 0 = off, -1 = any free port (logged); absent: the chain spec's
  /// default_rpc_port (8332 mainnet, 18443 regtest)
  std::optional<int> rpc_port;
  /// --qtcnode.rpc-auth: `user:salt$hmac` credentials besides the cookie (comma-separated)
  std::vector<rpc::rpcauth_entry> rpc_auth;
  std::string log_level = "info";
  /// --qtcnode.pq: the transports' post-quantum policy (messages/transport_error's pq_policy)
  pq_policy pq = pq_policy::required;
  std::string log_file; ///< empty: stderr
  /// --qtcnode.connect: connect only to these peers (`[tls:][<pubkey>@]ip:port`, comma-separated)
  std::vector<std::string> connect;
  /// --qtcnode.addnode: keep these peers connected besides the automatic outbound slots
  std::vector<std::string> addnode;
  std::uint32_t outbound_full_relay = 8;  ///< automatic outbound full-relay slots
  std::uint32_t outbound_block_relay = 2; ///< automatic outbound block-relay-only slots
  /// --qtcnode.max-upload-target, in MiB a day (0: none), held in bytes
  std::uint64_t max_upload_target = 0;
  /// --qtcnode.dns-servers: resolvers for the DNS seeds ("ip:port", IPv6 as "[v6]:port"),
  /// in order of preference; empty: the system's resolvers (/etc/resolv.conf)
  std::vector<std::string> dns_servers;
  /// --qtcnode.allow: subnets whose peers get permissions (`[noban+relay+download@]subnet`,
  /// comma-separated; runtime/net/allowlist)
  std::vector<allow_entry> allow;
  /// --qtcnode.detectors: the attack detectors' thresholds, each `name:subnet:alert[:window]`
  /// (comma-separated) over the defaults (runtime/net/attack_detectors)
  attack_detectors::config detectors;
  /// --qtcnode.health-window: /health's rates are judged over this (runtime/health)
  std::chrono::seconds health_window{300};
  /// --qtcnode.health-sync-stall: behind the target this long without a block fails /health
  std::chrono::seconds health_sync_stall{120};
};

/// The node's actor system configuration: CAF's own options plus the `qtcnode` section, with
/// the message catalog registered.
/// The node's CAF configuration; its actors are metered into `meters` (runtime/inspect) and find
/// the log sink and the metrics actor through it (messages/services.hpp).
class node_config : public caf::actor_system_config, public metered_system, public service_host {
public:
  node_config();

  /// Every option, CAF's own and the node's, grouped by section, one per line.
  std::string help_text() const;

  /// Whether `section.key` is a declared option.
  bool declares(std::string_view section, std::string_view key) const;
};

/// One problem with the options, ready to print: "qtcnode.metrics-port: must be ...".
struct option_error {
  std::string key;
  std::string what;
};

/// Reads the options after `cfg.parse(...)`. Relative paths given on the command line are
/// resolved against the working directory; those from the config file against the config
/// file's directory. `argv` tells which is which.
node_options read_node_options(const node_config& cfg, const std::vector<std::string>& argv,
                               std::vector<option_error>& errors);

/// The non-empty items of a comma-separated list (the options' lists: connect, allow, ...).
std::vector<std::string> split_list(const std::string& text);

} // namespace qtc
