#include "runtime/config/node_options.hpp"

#include "messages/catalog.hpp"
#include "messages/log_record.hpp"
#include "runtime/chain/chain_spec.hpp"
#include "runtime/net/ip_address.hpp"

#include <caf/config_option_adder.hpp>
#include <caf/settings.hpp>

#include <algorithm>

namespace qtc {

node_config::node_config() {
  register_message_types(*this);
  // CAF's work stealing spins through 500 "moderate" polls (a 50 µs sleep each) every time a
  // worker runs out of work before it waits on its condition variable. A node's work comes in
  // small bursts (a message, a timer), so that spin was most of an idle node's CPU, and on a
  // machine the node shares it took cycles from the work itself: without it an idle node used a
  // third of the CPU and sync ran 12-25 % faster (docs/performance.md, "Scheduler"). Workers
  // still poll 100 times before they sleep, and an enqueue from outside wakes a sleeping one.
  // The command line and config file override it (--work-stealing.moderate-poll-attempts).
  set("work-stealing.moderate-poll-attempts", std::size_t{0});
  opt_group{custom_options_, "qtcnode"}
      .add<std::string>("node-name", "label of this node in log lines (default: qtcnode)")
      .add<std::string>("data-dir", "directory for the node's state; created if missing, locked "
                                    "while the node runs (required)")
      .add<std::string>("chain-spec", "chain spec TOML file, e.g. config/regtest.toml (required)")
      .add<std::string>("p2p-host", "address the P2P listener binds (default: 127.0.0.1)")
      .add<int64_t>("p2p-port", "P2P port; 0 = the chain spec's default_port, -1 = any free "
                                "port (default: 0)")
      .add<std::string>("metrics-host",
                        "address the Prometheus endpoint binds (default: 127.0.0.1)")
      .add<int64_t>("metrics-port", "Prometheus /metrics port; 0 = any free port, -1 = disabled "
                                    "(default: 9333)")
      .add<std::string>("inspector-host",
                        "address the inspector endpoint binds (default: 127.0.0.1)")
      .add<int64_t>("inspector-port", "port where qtc-inspect can attach (CAF remote actor); "
                                      "0 = off, -1 = any free port (default: 0)")
      .add<std::string>("rpc-host", "address the JSON-RPC server binds (default: 127.0.0.1)")
      .add<int64_t>("rpc-port", "JSON-RPC port; 0 = off, -1 = any free port (default: the chain "
                                "spec's default_rpc_port: 8332 mainnet, 18443 regtest)")
      .add<std::string>("rpc-auth", "JSON-RPC credentials besides the cookie, comma-separated "
                                    "user:salt$hmac (bitcoind's rpcauth format)")
      .add<std::string>("log-level", "error, warning, info, debug or trace (default: info)")
      .add<std::string>("pq", "post-quantum policy of both transports: required (only the hybrid "
                              "handshakes), preferred (hybrid first, classical peers accepted) or "
                              "off (classical only) (default: required)")
      .add<std::string>("log-file", "append log lines to this file instead of stderr")
      .add<std::string>("connect", "connect only to these peers: comma-separated "
                                   "[tls:][<64 hex key>@]ip:port (no automatic outbound)")
      .add<std::string>("allow", "subnets whose peers get permissions, comma-separated "
                                 "[noban+relay+download@]subnet (none given: all three)")
      .add<std::string>("detectors", "attack detector thresholds, comma-separated "
                                     "name:subnet:alert[:window_seconds] (0 turns one off)")
      .add<std::string>("addnode", "keep these peers connected besides the automatic outbound "
                                   "slots: comma-separated [tls:][<64 hex key>@]ip:port")
      .add<std::string>("dns-servers", "resolvers for the DNS seeds, comma-separated ip:port "
                                       "([v6]:port), tried in order (default: /etc/resolv.conf)")
      .add<int64_t>("outbound-full-relay", "automatic outbound full-relay connections "
                                           "(default: 8)")
      .add<int64_t>("outbound-block-relay", "automatic outbound block-relay-only connections "
                                            "(default: 2)")
      .add<int64_t>("max-upload-target", "MiB served a day before historical blocks are refused "
                                         "to peers without the download permission; 0 = no "
                                         "target (default: 0)")
      .add<int64_t>("health-window", "seconds over which /health judges DNS, connection and "
                                     "security rates (default: 300)")
      .add<int64_t>("health-sync-stall", "seconds behind the sync target without a new block "
                                         "before /health fails sync_progress (default: 120)");
}

std::string node_config::help_text() const {
  return custom_options_.help_text(false);
}

bool node_config::declares(std::string_view section, std::string_view key) const {
  return custom_options_.qualified_name_lookup(section, key) != nullptr;
}

namespace {

bool given_on_command_line(const std::vector<std::string>& argv, const std::string& key) {
  auto prefix = "--qtcnode." + key + "=";
  return std::any_of(argv.begin(), argv.end(),
                     [&](const std::string& arg) { return arg.rfind(prefix, 0) == 0; });
}

std::filesystem::path resolve(const caf::actor_system_config& cfg,
                              const std::vector<std::string>& argv, const std::string& key,
                              const std::string& value) {
  std::filesystem::path p{value};
  if (p.empty() || p.is_absolute() || given_on_command_line(argv, key)
      || cfg.config_file_path.empty())
    return p.lexically_normal();
  return (std::filesystem::path{cfg.config_file_path}.parent_path() / p).lexically_normal();
}

std::uint16_t port_option(const caf::settings& s, const std::string& key, int64_t fallback,
                          int64_t min, std::vector<option_error>& errors, int64_t& raw) {
  raw = caf::get_or(s, "qtcnode." + key, fallback);
  if (raw < min || raw > 65535) {
    errors.push_back({"qtcnode." + key, "must be in [" + std::to_string(min) + ", 65535], got "
                                            + std::to_string(raw)});
    raw = fallback;
  }
  return raw < 0 ? 0 : static_cast<std::uint16_t>(raw);
}

/// The security manager's options: the allowlist and the detectors' thresholds.
void read_security_options(const caf::settings& s, node_options& o,
                           std::vector<option_error>& errors) {
  for (const auto& item : split_list(caf::get_or(s, "qtcnode.allow", std::string{}))) {
    std::string error;
    if (auto entry = parse_allow_entry(item, error))
      o.allow.push_back(*entry);
    else
      errors.push_back({"qtcnode.allow", "\"" + item + "\": " + error});
  }
  for (const auto& item : split_list(caf::get_or(s, "qtcnode.detectors", std::string{})))
    if (auto error = apply_detector_setting(item, o.detectors))
      errors.push_back({"qtcnode.detectors", "\"" + item + "\": " + *error});
}

} // namespace

node_options read_node_options(const node_config& cfg, const std::vector<std::string>& argv,
                               std::vector<option_error>& errors) {
  const auto& s = caf::content(cfg);
  // CAF rejects unknown command-line options but accepts any key in a config file: a typo
  // there must not pass silently.
  if (auto section = caf::get_if<caf::settings>(&s, "qtcnode")) {
    for (const auto& kvp : *section)
      if (!cfg.declares("qtcnode", kvp.first))
        errors.push_back(
            option_error{"qtcnode." + kvp.first, "unknown option (qtcnode --help lists them all)"});
  }
  node_options o;
  o.node_name = caf::get_or(s, "qtcnode.node-name", o.node_name);
  auto data_dir = caf::get_or(s, "qtcnode.data-dir", std::string{});
  auto chain_spec = caf::get_or(s, "qtcnode.chain-spec", std::string{});
  if (data_dir.empty())
    errors.push_back({"qtcnode.data-dir", "missing (set it in the config file or with "
                                          "--qtcnode.data-dir=DIR)"});
  if (chain_spec.empty())
    errors.push_back({"qtcnode.chain-spec", "missing (set it in the config file or with "
                                            "--qtcnode.chain-spec=FILE)"});
  o.data_dir = resolve(cfg, argv, "data-dir", data_dir);
  o.chain_spec = resolve(cfg, argv, "chain-spec", chain_spec);
  o.p2p_host = caf::get_or(s, "qtcnode.p2p-host", o.p2p_host);
  int64_t raw = 0;
  o.p2p_port = port_option(s, "p2p-port", 0, -1, errors, raw);
  o.p2p_any_port = raw == -1;
  o.metrics_host = caf::get_or(s, "qtcnode.metrics-host", o.metrics_host);
  o.metrics_port = port_option(s, "metrics-port", 9333, -1, errors, raw);
  o.metrics_enabled = raw != -1;
  o.inspector_host = caf::get_or(s, "qtcnode.inspector-host", o.inspector_host);
  port_option(s, "inspector-port", 0, -1, errors, raw);
  o.inspector_port = static_cast<int>(raw);
  o.rpc_host = caf::get_or(s, "qtcnode.rpc-host", o.rpc_host);
  if (caf::get_if(&s, "qtcnode.rpc-port") != nullptr) {
    port_option(s, "rpc-port", 0, -1, errors, raw);
    o.rpc_port = static_cast<int>(raw);
  }
  for (const auto& item : split_list(caf::get_or(s, "qtcnode.rpc-auth", std::string{}))) {
    std::string error;
    if (auto entry = rpc::parse_rpcauth(item, error))
      o.rpc_auth.push_back(*entry);
    else
      errors.push_back({"qtcnode.rpc-auth", "\"" + item + "\": " + error});
  }
  auto pq_text = caf::get_or(s, "qtcnode.pq", to_string(o.pq));
  if (auto pq = parse_pq_policy(pq_text))
    o.pq = *pq;
  else
    errors.push_back({"qtcnode.pq", "must be required, preferred or off, got \"" + pq_text + "\""});
  o.log_level = caf::get_or(s, "qtcnode.log-level", o.log_level);
  if (!parse_log_level(o.log_level))
    errors.push_back({"qtcnode.log-level",
                      "must be error, warning, info, debug or trace, got \"" + o.log_level + "\""});
  auto log_file = caf::get_or(s, "qtcnode.log-file", std::string{});
  o.log_file = log_file.empty() ? std::string{} : resolve(cfg, argv, "log-file", log_file).string();
  for (auto [key, out] : {std::pair{"connect", &o.connect}, std::pair{"addnode", &o.addnode}})
    for (const auto& item :
         split_list(caf::get_or(s, std::string{"qtcnode."} + key, std::string{}))) {
      std::string error;
      auto entry = parse_address_entry(item, error);
      if (!entry)
        errors.push_back({std::string{"qtcnode."} + key, "\"" + item + "\": " + error});
      else if (!parse_ip(entry->host))
        errors.push_back(
            {std::string{"qtcnode."} + key, "\"" + item + "\": the host must be an IP address"});
      else
        out->push_back(item);
    }
  for (const auto& item : split_list(caf::get_or(s, "qtcnode.dns-servers", std::string{}))) {
    std::string error;
    auto entry = parse_address_entry(item, error);
    if (!entry || !entry->pubkey_hex.empty() || entry->tls_only || !parse_ip(entry->host))
      errors.push_back(
          {"qtcnode.dns-servers", "\"" + item + "\": expected ip:port (IPv6 as [v6]:port)"});
    else
      o.dns_servers.push_back(item);
  }
  read_security_options(s, o, errors);
  for (auto [key, out] : {std::pair{"outbound-full-relay", &o.outbound_full_relay},
                          std::pair{"outbound-block-relay", &o.outbound_block_relay}}) {
    auto v = caf::get_or(s, std::string{"qtcnode."} + key, static_cast<int64_t>(*out));
    if (v < 0 || v > 64)
      errors.push_back(
          {std::string{"qtcnode."} + key, "must be in [0, 64], got " + std::to_string(v)});
    else
      *out = static_cast<std::uint32_t>(v);
  }
  auto upload = caf::get_or(s, "qtcnode.max-upload-target", int64_t{0});
  if (upload < 0 || upload > (int64_t{1} << 30))
    errors.push_back({"qtcnode.max-upload-target",
                      "must be in [0, 1073741824] MiB, got " + std::to_string(upload)});
  else
    o.max_upload_target = static_cast<std::uint64_t>(upload) << 20;
  for (auto [key, out] : {std::pair{"health-window", &o.health_window},
                          std::pair{"health-sync-stall", &o.health_sync_stall}}) {
    auto v = caf::get_or(s, std::string{"qtcnode."} + key, static_cast<int64_t>(out->count()));
    if (v < 1 || v > 86400)
      errors.push_back({std::string{"qtcnode."} + key,
                        "must be in [1, 86400] seconds, got " + std::to_string(v)});
    else
      *out = std::chrono::seconds{v};
  }
  return o;
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find(',', start);
    if (end == std::string::npos)
      end = text.size();
    if (end > start)
      out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

} // namespace qtc
