#include "runtime/chain/chain_spec.hpp"

#include "runtime/chain/toml_checker.hpp"

#include <toml.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>

namespace qtc {

std::string config_error::to_string() const {
  std::string out = file;
  if (line > 0)
    out += ":" + std::to_string(line);
  out += ": ";
  if (!key.empty())
    out += key + ": ";
  return out + what;
}

bool is_valid_hostname(std::string_view name) {
  if (name.empty() || name.size() > 253)
    return false;
  if (name.back() == '.')
    name.remove_suffix(1); // a fully qualified name may end in a dot
  std::size_t start = 0;
  while (start <= name.size()) {
    auto end = name.find('.', start);
    if (end == std::string_view::npos)
      end = name.size();
    auto label = name.substr(start, end - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
      return false;
    for (char c : label)
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'))
        return false;
    start = end + 1;
    if (end == name.size())
      break;
  }
  return true;
}

namespace {

bool is_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; });
}

bool is_ip_literal_v6(std::string_view s) {
  return !s.empty() && s.find(':') != std::string_view::npos
         && std::all_of(s.begin(), s.end(), [](char c) {
              return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
            });
}

} // namespace

std::optional<network_address_entry> parse_address_entry(std::string_view text,
                                                         std::string& error) {
  network_address_entry result;
  if (text.starts_with("tls:")) {
    result.tls_only = true;
    text.remove_prefix(4);
  }
  if (auto at = text.find('@'); at != std::string_view::npos) {
    auto key = text.substr(0, at);
    if (key.size() != 64 || !is_hex(key)) {
      error = "the public key before '@' must be 64 hex characters";
      return std::nullopt;
    }
    result.pubkey_hex = std::string{key};
    text.remove_prefix(at + 1);
  }
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      error = "an IPv6 address must be written [address]:port";
      return std::nullopt;
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    if (!is_ip_literal_v6(host)) {
      error = "\"" + std::string{host} + "\" is not an IPv6 address";
      return std::nullopt;
    }
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos || text.find(':') != colon) {
      error = "must be [tls:][<pubkey>@]host:port, with [IPv6]:port for IPv6";
      return std::nullopt;
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (!is_valid_hostname(host)) {
      error = "\"" + std::string{host} + "\" is not a valid host name or address";
      return std::nullopt;
    }
  }
  unsigned long value = 0;
  if (port.empty() || port.size() > 5
      || !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })
      || (value = std::stoul(std::string{port})) == 0 || value > 65535) {
    error = "the port must be a number in [1, 65535]";
    return std::nullopt;
  }
  result.host = std::string{host};
  result.port = static_cast<std::uint16_t>(value);
  return result;
}

namespace {

/// The optional [nat] table: `enabled` and `stun_servers` are required in it, the rest default.
void check_nat(const toml::value& root, checker& c, nat_settings& nat) {
  const auto& tables = root.as_table();
  if (tables.find("nat") == tables.end())
    return;
  auto* t = c.table(root, "nat");
  if (t == nullptr)
    return;
  const std::string n = "nat";
  c.unknown_keys(*t, n,
                 {"enabled", "stun_servers", "stun", "pcp", "natpmp", "upnp", "lease_time",
                  "confirmations", "probe_interval", "mapping_retry", "stun_timeout_ms",
                  "stun_sends"});
  take(nat.enabled, c.boolean(*t, n, "enabled"));
  take(nat.stun_servers, c.strings(*t, n, "stun_servers", [](const std::string& s) {
    std::string err;
    auto entry = parse_address_entry(s, err);
    if (entry && (entry->tls_only || !entry->pubkey_hex.empty()))
      err = "a STUN server is \"host:port\", without tls: or a key";
    return err.empty() ? err : "\"" + s + "\": " + err;
  }));
  const auto& keys = t->as_table();
  auto has = [&](const char* key) { return keys.find(key) != keys.end(); };
  for (auto [key, flag] : {std::pair{"stun", &nat.stun}, std::pair{"pcp", &nat.pcp},
                           std::pair{"natpmp", &nat.natpmp}, std::pair{"upnp", &nat.upnp}})
    if (has(key))
      take(*flag, c.boolean(*t, n, key));
  if (has("lease_time"))
    take(nat.lease_time, c.integer(*t, n, "lease_time", 4, 604800));
  if (has("confirmations"))
    take(nat.confirmations, c.integer(*t, n, "confirmations", 1, 64));
  if (has("probe_interval"))
    take(nat.probe_interval, c.integer(*t, n, "probe_interval", 10, 86400));
  if (has("mapping_retry"))
    take(nat.mapping_retry, c.integer(*t, n, "mapping_retry", 5, 86400));
  if (has("stun_timeout_ms"))
    take(nat.stun_timeout, c.integer(*t, n, "stun_timeout_ms", 10, 10000));
  if (has("stun_sends"))
    take(nat.stun_sends, c.integer(*t, n, "stun_sends", 1, 10));
  // Only when the list is really empty (a malformed entry has been reported already).
  auto servers = keys.find("stun_servers");
  bool none_listed =
      servers != keys.end() && servers->second.is_array() && servers->second.as_array().empty();
  if (nat.enabled && nat.stun && none_listed)
    c.fail(c.line_of(*t, "stun_servers"), n + ".stun_servers",
           "must name at least one server when nat.enabled and nat.stun are true");
}

/// Fills `spec` from `root`; every problem goes to the checker's error list, which is the only
/// record of failure.
void check_spec(const toml::value& root, checker& c, chain_spec& spec) {
  constexpr auto i32_max = std::numeric_limits<std::int32_t>::max();
  constexpr auto u32_max = std::numeric_limits<std::uint32_t>::max();
  c.unknown_keys(
      root, "",
      {"chain", "network_protocol", "discovery", "genesis", "proof_of_work", "dos", "nat"});
  check_nat(root, c, spec.nat);
  if (auto* t = c.table(root, "chain")) {
    c.unknown_keys(*t, "chain", {"name"});
    if (auto name = c.string(*t, "chain", "name")) {
      bool valid = !name->empty() && name->size() <= 32
                   && std::all_of(name->begin(), name->end(), [](char ch) {
                        return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_'
                               || ch == '-';
                      });
      if (valid)
        spec.network = *name;
      else {
        c.fail(c.line_of(*t, "name"), "chain.name",
               "must be 1 to 32 characters of a-z, 0-9, '_' or '-', got \"" + *name + "\"");
      }
    }
  }
  if (auto* t = c.table(root, "network_protocol")) {
    const std::string n = "network_protocol";
    c.unknown_keys(*t, n,
                   {"magic_bytes", "protocol_version", "min_protocol_version", "default_port",
                    "default_rpc_port", "max_connections", "connection_timeout",
                    "max_message_size"});
    if (auto* v = c.required(*t, n, "magic_bytes")) {
      if (!v->is_array()) {
        c.fail(v->location().line(), n + ".magic_bytes",
               "expected an array of 4 integers, got " + type_name(*v));
      } else if (v->as_array().size() != 4) {
        c.fail(v->location().line(), n + ".magic_bytes",
               "must have exactly 4 elements, got " + std::to_string(v->as_array().size()));
      } else {
        for (std::size_t i = 0; i < 4; ++i) {
          auto b = c.integer_value(v->as_array()[i], n + ".magic_bytes[" + std::to_string(i) + "]",
                                   0, 255);
          take(spec.magic[i], b);
        }
      }
    }
    take(spec.protocol_version, c.integer(*t, n, "protocol_version", 209, i32_max));
    auto min_version = c.integer(*t, n, "min_protocol_version", 209, i32_max);
    take(spec.min_protocol_version, min_version);
    if (min_version && spec.protocol_version != 0 && *min_version > spec.protocol_version) {
      c.fail(c.line_of(*t, "min_protocol_version"), n + ".min_protocol_version",
             "must not exceed protocol_version (" + std::to_string(spec.protocol_version)
                 + "), got " + std::to_string(*min_version));
    }
    take(spec.default_port, c.integer(*t, n, "default_port", 1, 65535));
    if (t->as_table().count("default_rpc_port") != 0)
      take(spec.default_rpc_port, c.integer(*t, n, "default_rpc_port", 1, 65535));
    else if (spec.default_port > 1)
      spec.default_rpc_port = static_cast<std::uint16_t>(spec.default_port - 1);
    take(spec.max_connections, c.integer(*t, n, "max_connections", 1, 100000));
    take(spec.connection_timeout, c.integer(*t, n, "connection_timeout", 1, 300));
    take(spec.max_message_size, c.integer(*t, n, "max_message_size", 1000, 33554432));
  }
  if (auto* t = c.table(root, "discovery")) {
    const std::string n = "discovery";
    c.unknown_keys(
        *t, n, {"dns_seeds", "bootstrap_nodes", "allow_private_addresses", "dns_fallback_after"});
    auto seeds = c.strings(*t, n, "dns_seeds", [](const std::string& s) -> std::string {
      return is_valid_hostname(s) ? "" : "\"" + s + "\" is not a valid DNS host name";
    });
    take(spec.dns_seeds, seeds);
    auto nodes = c.strings(*t, n, "bootstrap_nodes", [](const std::string& s) -> std::string {
      std::string err;
      return parse_address_entry(s, err) ? "" : "\"" + s + "\": " + err;
    });
    if (nodes) {
      for (const auto& s : *nodes) {
        std::string err;
        spec.bootstrap_nodes.push_back(*parse_address_entry(s, err));
      }
    }
    take(spec.allow_private_addresses, c.boolean(*t, n, "allow_private_addresses"));
    take(spec.dns_fallback_after, c.integer(*t, n, "dns_fallback_after", 1, 3600));
  }
  if (auto* t = c.table(root, "genesis")) {
    const std::string n = "genesis";
    c.unknown_keys(*t, n,
                   {"version", "time", "bits", "nonce", "coinbase_message", "reward", "hash"});
    take(spec.genesis_version, c.integer(*t, n, "version", 1, i32_max));
    take(spec.genesis_time, c.integer(*t, n, "time", 0, u32_max));
    take(spec.genesis_bits, c.integer(*t, n, "bits", 1, u32_max));
    take(spec.genesis_nonce, c.integer(*t, n, "nonce", 0, u32_max));
    if (auto m = c.string(*t, n, "coinbase_message")) {
      if (m->empty() || m->size() > 90) {
        c.fail(c.line_of(*t, "coinbase_message"), n + ".coinbase_message",
               "must be 1 to 90 bytes, got " + std::to_string(m->size()));
      } else {
        spec.genesis_coinbase_message = *m;
      }
    }
    take(spec.genesis_reward, c.integer(*t, n, "reward", 0, 2'100'000'000'000'000));
    if (auto h = c.string(*t, n, "hash", true)) {
      if (!h->empty() && (h->size() != 64 || !is_hex(*h))) {
        c.fail(c.line_of(*t, "hash"), n + ".hash", "must be 64 hex characters");
      } else {
        spec.genesis_hash_hex = *h;
      }
    }
  }
  if (auto* t = c.table(root, "proof_of_work")) {
    const std::string n = "proof_of_work";
    c.unknown_keys(*t, n,
                   {"pow_limit", "target_spacing", "retarget_interval", "max_future_block_time",
                    "median_time_span", "minimum_chain_work"});
    if (auto h = c.string(*t, n, "pow_limit")) {
      if (h->size() != 64 || !is_hex(*h)) {
        c.fail(c.line_of(*t, "pow_limit"), n + ".pow_limit",
               "must be 64 hex characters (a big-endian 256-bit target)");
      } else {
        spec.pow_limit_hex = *h;
      }
    }
    take(spec.target_spacing, c.integer(*t, n, "target_spacing", 1, 86400));
    take(spec.retarget_interval, c.integer(*t, n, "retarget_interval", 0, 100000));
    take(spec.max_future_block_time, c.integer(*t, n, "max_future_block_time", 0, 86400));
    auto span = c.integer(*t, n, "median_time_span", 1, 101);
    if (span && *span % 2 == 0) {
      c.fail(c.line_of(*t, "median_time_span"), n + ".median_time_span",
             "must be odd, got " + std::to_string(*span));
    } else {
      take(spec.median_time_span, span);
    }
    spec.minimum_chain_work_hex = std::string(64, '0');
    if (auto h = c.string(*t, n, "minimum_chain_work", true); h && !h->empty()) {
      if (h->size() != 64 || !is_hex(*h)) {
        c.fail(c.line_of(*t, "minimum_chain_work"), n + ".minimum_chain_work",
               "must be 64 hex characters (a big-endian 256-bit amount of work)");
      } else {
        spec.minimum_chain_work_hex = *h;
      }
    }
  }
  if (auto* t = c.table(root, "dos")) {
    const std::string n = "dos";
    c.unknown_keys(*t, n,
                   {"max_connections_per_ip", "max_connections_per_subnet", "subnet_prefix_v4",
                    "subnet_prefix_v6", "max_messages_per_minute", "max_bytes_per_minute",
                    "ban_threshold", "ban_duration"});
    auto per_ip = c.integer(*t, n, "max_connections_per_ip", 1, 1000);
    take(spec.max_connections_per_ip, per_ip);
    auto per_subnet = c.integer(*t, n, "max_connections_per_subnet", 1, 10000);
    take(spec.max_connections_per_subnet, per_subnet);
    if (per_ip && per_subnet && *per_subnet < *per_ip) {
      c.fail(c.line_of(*t, "max_connections_per_subnet"), n + ".max_connections_per_subnet",
             "must be at least max_connections_per_ip (" + std::to_string(*per_ip) + "), got "
                 + std::to_string(*per_subnet));
    }
    take(spec.subnet_prefix_v4, c.integer(*t, n, "subnet_prefix_v4", 8, 32));
    take(spec.subnet_prefix_v6, c.integer(*t, n, "subnet_prefix_v6", 16, 128));
    take(spec.max_messages_per_minute, c.integer(*t, n, "max_messages_per_minute", 1, 1000000));
    take(spec.max_bytes_per_minute, c.integer(*t, n, "max_bytes_per_minute", 1000, 10'000'000'000));
    take(spec.ban_threshold, c.integer(*t, n, "ban_threshold", 1, 10000));
    take(spec.ban_duration, c.integer(*t, n, "ban_duration", 60, 31'536'000));
  }
}

} // namespace

chain_spec_result parse_chain_spec(std::string_view text, const std::string& file_name) {
  chain_spec_result result;
  toml::value root;
  try {
    std::istringstream in{std::string{text}};
    root = toml::parse(in, file_name);
  } catch (const toml::syntax_error& e) {
    result.errors.push_back({file_name, e.location().line(), "", condense(e.what())});
    return result;
  } catch (const std::exception& e) {
    result.errors.push_back({file_name, 1, "", condense(e.what())});
    return result;
  }
  chain_spec spec;
  spec.source = file_name;
  checker c{file_name, result.errors};
  try {
    check_spec(root, c, spec);
  } catch (const std::exception& e) {
    // Defensive: toml11 throws on misuse; report instead of crashing.
    result.errors.push_back({file_name, 1, "", std::string{"internal error: "} + e.what()});
  }
  std::stable_sort(result.errors.begin(), result.errors.end(),
                   [](const config_error& a, const config_error& b) { return a.line < b.line; });
  if (result.errors.empty())
    result.spec = std::move(spec);
  return result;
}

chain_spec_result load_chain_spec(const std::filesystem::path& file) {
  std::error_code ec;
  if (std::filesystem::is_directory(file, ec)) {
    chain_spec_result result;
    result.errors.push_back({file.string(), 0, "", "cannot read: is a directory"});
    return result;
  }
  std::ifstream in{file, std::ios::binary};
  if (!in) {
    chain_spec_result result;
    result.errors.push_back(
        {file.string(), 0, "", std::string{"cannot read: "} + std::strerror(errno)});
    return result;
  }
  std::string text{std::istreambuf_iterator<char>{in}, {}};
  return parse_chain_spec(text, file.string());
}

} // namespace qtc
