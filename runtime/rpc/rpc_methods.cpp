#include "runtime/rpc/rpc_methods.hpp"

#include <algorithm>

namespace qtc::rpc {

namespace {

using json = nlohmann::json;
constexpr bool required = true;
constexpr bool optional = false;

std::vector<method_spec> chain_methods() {
  using p = param_type;
  return {
      {"getbestblockhash",
       "Blockchain",
       {},
       "Returns the hash of the best (tip) block stored.",
       "\"hex\" (string) the block hash, hex-encoded"},
      {"getblock",
       "Blockchain",
       {{"blockhash", p::string, required, "the block hash"},
        {"verbosity", p::integer_or_bool, optional,
         "0 for hex-encoded data, 1 for a JSON object (default 1)"}},
       "Returns a stored block: verbosity 0 the serialized block in hex, 1 an object with its "
       "header fields and transaction ids.",
       "verbosity 0: \"hex\"; verbosity 1: {hash, confirmations, size, strippedsize, weight, "
       "height, version, versionHex, merkleroot, tx: [txid, ...], time, mediantime, nonce, "
       "bits, difficulty, chainwork, nTx, previousblockhash, nextblockhash}"},
      {"getblockchaininfo",
       "Blockchain",
       {},
       "Returns the state of the block chain.",
       "{chain, blocks, headers, bestblockhash, difficulty, time, mediantime, "
       "verificationprogress, initialblockdownload, chainwork, size_on_disk, pruned, warnings}"},
      {"getblockcount",
       "Blockchain",
       {},
       "Returns the height of the best block stored.",
       "n (numeric) the height"},
      {"getblockhash",
       "Blockchain",
       {{"height", p::integer, required, "the height in the best chain"}},
       "Returns the hash of the best chain's block at a height.",
       "\"hex\" (string) the hash"},
      {"getblockheader",
       "Blockchain",
       {{"blockhash", p::string, required, "the block hash"},
        {"verbose", p::boolean, optional, "true for a JSON object, false for hex (default true)"}},
       "Returns a block header.",
       "verbose: {hash, confirmations, height, version, versionHex, merkleroot, time, "
       "mediantime, nonce, bits, difficulty, chainwork, nTx, previousblockhash, nextblockhash}; "
       "else \"hex\" (the 80-byte header)"},
      {"submitblock",
       "Mining",
       {{"hexdata", p::string, required, "the hex-encoded block"},
        {"dummy", p::string, optional, "ignored (bitcoind's compatibility parameter)"}},
       "Submits a block that extends the best block stored.",
       "null when accepted; \"duplicate\", \"inconclusive\" or a rejection reason otherwise"},
  };
}

std::vector<method_spec> network_methods() {
  using p = param_type;
  return {
      {"addnode",
       "Network",
       {{"node", p::string, required, "[tls:][<pubkey>@]ip:port"},
        {"command", p::string, required,
         "'add' to keep it connected, 'remove' to stop that, 'onetry' to connect once"}},
       "Adds or removes a peer the node keeps connected, or connects to one once.",
       "null"},
      {"clearbanned", "Network", {}, "Lifts every ban.", "null"},
      {"disconnectnode",
       "Network",
       {{"address", p::string, optional, "the peer's ip:port"},
        {"nodeid", p::integer, optional, "the peer's id (getpeerinfo's id)"}},
       "Disconnects a peer, by address or by id (exactly one of them).",
       "null"},
      {"getconnectioncount",
       "Network",
       {},
       "Returns the number of ready peer connections.",
       "n (numeric)"},
      {"getnettotals",
       "Network",
       {},
       "Returns the traffic totals since start.",
       "{totalbytesrecv, totalbytessent, timemillis, uploadtarget: {timeframe, target, "
       "target_reached, serve_historical_blocks, bytes_left_in_cycle, time_left_in_cycle}}"},
      {"getnetworkinfo",
       "Network",
       {},
       "Returns the node's P2P state.",
       "{version, subversion, protocolversion, localservices, localservicesnames, localrelay, "
       "timeoffset, networkactive, connections, connections_in, connections_out, networks, "
       "relayfee, incrementalfee, localaddresses, warnings}"},
      {"getpeerinfo",
       "Network",
       {},
       "Returns one object per connected peer.",
       "[{id, addr, network, services, servicesnames, relaytxes, lastsend, lastrecv, "
       "bytessent, bytesrecv, conntime, pingtime, minping, version, subver, inbound, "
       "startingheight, synced_headers, synced_blocks, connection_type, transport_protocol_type}]"},
      {"listbanned",
       "Network",
       {},
       "Lists the bans in force.",
       "[{address, ban_created, banned_until, ban_duration, time_remaining}]"},
      {"ping",
       "Network",
       {},
       "Sends no extra ping: every session already pings its peer every 2 minutes "
       "(pingtime in getpeerinfo).",
       "null"},
      {"setban",
       "Network",
       {{"subnet", p::string, required, "an IP address or subnet (ip/prefix)"},
        {"command", p::string, required, "'add' or 'remove'"},
        {"bantime", p::integer, optional,
         "seconds (0: 24 h, bitcoind's default; or an "
         "absolute time with absolute=true)"},
        {"absolute", p::boolean, optional, "bantime is a Unix time (default false)"}},
       "Bans or unbans an address or subnet.",
       "null"},
  };
}

std::vector<method_spec> control_methods() {
  using p = param_type;
  return {
      {"help",
       "Control",
       {{"command", p::string, optional, "the method to describe"}},
       "Lists the methods, or describes one.",
       "\"text\""},
      {"stop",
       "Control",
       {},
       "Shuts the node down as SIGTERM does.",
       "\"QuantumCoin server stopping\""},
      {"uptime", "Control", {}, "Returns the seconds since the node started.", "n (numeric)"},
  };
}

/// Every method, in help's order: by category, as bitcoind lists them.
std::vector<method_spec> make_methods() {
  auto all = chain_methods();
  for (auto part : {network_methods(), control_methods()})
    all.insert(all.end(), std::make_move_iterator(part.begin()),
               std::make_move_iterator(part.end()));
  return all;
}

bool fits(param_type type, const json& v) {
  switch (type) {
  case param_type::integer:
    return v.is_number_integer();
  case param_type::string:
    return v.is_string();
  case param_type::boolean:
    return v.is_boolean();
  case param_type::integer_or_bool:
    return v.is_number_integer() || v.is_boolean();
  }
  return false;
}

std::string_view expected_name(param_type type) {
  switch (type) {
  case param_type::integer:
    return "number";
  case param_type::string:
    return "string";
  case param_type::boolean:
    return "bool";
  case param_type::integer_or_bool:
    return "number or bool";
  }
  return "?";
}

std::string usage(const method_spec& m) {
  std::string line{m.name};
  for (const auto& p : m.params)
    line +=
        p.required ? " \"" + std::string{p.name} + "\"" : " ( \"" + std::string{p.name} + "\" )";
  return line;
}

} // namespace

const std::vector<method_spec>& methods() {
  static const std::vector<method_spec> all = make_methods();
  return all;
}

const method_spec* find_method(std::string_view name) {
  const auto& all = methods();
  auto i = std::find_if(all.begin(), all.end(), [&](const auto& m) { return m.name == name; });
  return i == all.end() ? nullptr : &*i;
}

std::string_view json_type_name(const json& value) {
  switch (value.type()) {
  case json::value_t::null:
    return "null";
  case json::value_t::boolean:
    return "bool";
  case json::value_t::string:
    return "string";
  case json::value_t::array:
    return "array";
  case json::value_t::object:
    return "object";
  default:
    return "number";
  }
}

std::variant<std::vector<json>, rpc_error> bind_params(const method_spec& m, const json& params) {
  std::vector<json> bound(m.params.size());
  if (params.is_object()) {
    // Not a structured binding: clang 14 (the fuzz build) cannot capture one in a lambda.
    for (const auto& item : params.items()) {
      const auto& key = item.key();
      auto i = std::find_if(m.params.begin(), m.params.end(),
                            [&](const auto& p) { return p.name == key; });
      if (i == m.params.end())
        return rpc_error{error_code::invalid_parameter, "Unknown named parameter " + key};
      bound[static_cast<std::size_t>(i - m.params.begin())] = item.value();
    }
  } else {
    if (params.size() > m.params.size())
      return rpc_error{error_code::misc_error, help_text(m)};
    for (std::size_t i = 0; i < params.size(); ++i)
      bound[i] = params[i];
  }
  for (std::size_t i = 0; i < m.params.size(); ++i) {
    const auto& spec = m.params[i];
    if (bound[i].is_null()) {
      if (spec.required)
        return rpc_error{error_code::misc_error, help_text(m)};
      continue;
    }
    if (!fits(spec.type, bound[i]))
      return rpc_error{error_code::type_error,
                       "JSON value of type " + std::string{json_type_name(bound[i])} + " for field "
                           + std::string{spec.name} + " is not of expected type "
                           + std::string{expected_name(spec.type)}};
  }
  return bound;
}

std::string help_text(const method_spec& m) {
  std::string text = usage(m) + "\n\n" + std::string{m.description} + "\n";
  if (!m.params.empty()) {
    text += "\nArguments:\n";
    for (std::size_t i = 0; i < m.params.size(); ++i) {
      const auto& p = m.params[i];
      text += std::to_string(i + 1) + ". " + std::string{p.name} + " ("
              + std::string{expected_name(p.type)} + ", " + (p.required ? "required" : "optional")
              + ") " + std::string{p.help} + "\n";
    }
  }
  text += "\nResult:\n" + std::string{m.result} + "\n";
  return text;
}

std::string help_overview() {
  std::string text;
  std::string_view category;
  for (const auto& m : methods()) {
    if (m.category != category) {
      text += std::string{text.empty() ? "" : "\n"} + "== " + std::string{m.category} + " ==\n";
      category = m.category;
    }
    text += usage(m) + "\n";
  }
  return text;
}

} // namespace qtc::rpc
