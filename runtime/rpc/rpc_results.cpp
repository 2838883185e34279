#include "runtime/rpc/rpc_results.hpp"

#include "messages/primitives/hex.hpp"

#include <cmath>
#include <cstdio>

namespace qtc::rpc {

namespace {

using json = nlohmann::json;

/// A field of a status report, or `fallback` when it is absent or of another type.
template <class T>
T field(const json& report, const char* key, T fallback) {
  auto i = report.find(key);
  if (i == report.end() || i->is_null())
    return fallback;
  try {
    return i->get<T>();
  } catch (const json::exception&) {
    return fallback;
  }
}

std::string bits_hex(std::uint32_t bits) {
  char text[9];
  std::snprintf(text, sizeof text, "%08x", bits);
  return text;
}

/// The header fields getblockheader and getblock share, in bitcoind's order.
json header_fields(const json& r) {
  json out = json::object();
  out["hash"] = field<std::string>(r, "hash", "");
  out["confirmations"] = field<std::int64_t>(r, "confirmations", -1);
  out["height"] = field<std::int64_t>(r, "height", 0);
  auto version = field<std::int64_t>(r, "version", 0);
  out["version"] = version;
  out["versionHex"] = version_hex(static_cast<std::int32_t>(version));
  out["merkleroot"] = field<std::string>(r, "merkleroot", "");
  return out;
}

void add_time_and_work(json& out, const json& r) {
  auto bits = static_cast<std::uint32_t>(field<std::int64_t>(r, "bits", 0));
  out["time"] = field<std::int64_t>(r, "time", 0);
  out["mediantime"] = field<std::int64_t>(r, "mediantime", 0);
  out["nonce"] = field<std::int64_t>(r, "nonce", 0);
  out["bits"] = bits_hex(bits);
  out["difficulty"] = difficulty_of(bits);
  out["chainwork"] = field<std::string>(r, "chainwork", "");
}

void add_neighbours(json& out, const json& r) {
  if (r.contains("previousblockhash"))
    out["previousblockhash"] = r["previousblockhash"];
  if (r.contains("nextblockhash"))
    out["nextblockhash"] = r["nextblockhash"];
}

std::string network_of(const std::string& address) {
  return address.rfind('[', 0) == 0 ? "ipv6" : "ipv4";
}

std::string connection_type_of(const std::string& ours) {
  return ours == "block-relay" ? "block-relay-only" : ours;
}

} // namespace

double difficulty_of(std::uint32_t bits) {
  int shift = static_cast<int>((bits >> 24) & 0xff);
  auto mantissa = bits & 0x00ffffff;
  if (mantissa == 0)
    return 0.0;
  double difficulty = static_cast<double>(0x0000ffff) / static_cast<double>(mantissa);
  for (; shift < 29; ++shift)
    difficulty *= 256.0;
  for (; shift > 29; --shift)
    difficulty /= 256.0;
  return difficulty;
}

std::string version_hex(std::int32_t version) {
  return bits_hex(static_cast<std::uint32_t>(version));
}

std::int64_t version_number(std::string_view version) {
  std::int64_t parts[3] = {0, 0, 0};
  std::size_t part = 0;
  for (char c : version) {
    if (c == '.') {
      if (++part == 3)
        break;
    } else if (c >= '0' && c <= '9') {
      parts[part] = parts[part] * 10 + (c - '0');
    } else {
      break;
    }
  }
  return parts[0] * 10000 + parts[1] * 100 + parts[2];
}

json header_result(const json& r) {
  json out = header_fields(r);
  add_time_and_work(out, r);
  add_neighbours(out, r);
  return out;
}

json block_result(const json& r, const block& b, std::size_t serialized_size) {
  json out = header_fields(r);
  // No witness data on this chain: the stripped size is the size, the weight four times it.
  out["size"] = serialized_size;
  out["strippedsize"] = serialized_size;
  out["weight"] = serialized_size * 4;
  json txids = json::array();
  for (const auto& tx : b.txs)
    txids.push_back(to_display_hex(txid(tx)));
  out["tx"] = std::move(txids);
  add_time_and_work(out, r);
  out["nTx"] = b.txs.size();
  add_neighbours(out, r);
  return out;
}

json blockchain_info_result(const std::string& chain, const json& sync_status,
                            const json& tip_header, std::uint64_t size_on_disk) {
  auto bits = static_cast<std::uint32_t>(field<std::int64_t>(tip_header, "bits", 0));
  auto progress = field<double>(sync_status, "progress", 0.0);
  return json{
      {"chain", chain},
      {"blocks", field<std::int64_t>(tip_header, "blocks", 0)},
      {"headers", field<std::int64_t>(tip_header, "headers", 0)},
      {"bestblockhash", field<std::string>(tip_header, "hash", "")},
      {"difficulty", difficulty_of(bits)},
      {"time", field<std::int64_t>(tip_header, "time", 0)},
      {"mediantime", field<std::int64_t>(tip_header, "mediantime", 0)},
      {"verificationprogress", progress},
      {"initialblockdownload", field<std::string>(sync_status, "state", "") != "synced"},
      {"chainwork", field<std::string>(tip_header, "chainwork", "")},
      {"size_on_disk", size_on_disk},
      {"pruned", false},
      {"warnings", json::array()},
  };
}

json network_info_result(const json& peers_status, const node_facts& facts) {
  auto inbound = field<std::int64_t>(peers_status, "inbound", 0);
  auto connections = field<std::int64_t>(peers_status, "connections", 0);
  json networks = json::array();
  for (const char* name : {"ipv4", "ipv6"})
    networks.push_back(json{{"name", name},
                            {"limited", false},
                            {"reachable", true},
                            {"proxy", ""},
                            {"proxy_randomize_credentials", false}});
  json local = json::array();
  auto advertised = field<std::string>(peers_status, "advertised", "");
  if (auto colon = advertised.rfind(':'); !advertised.empty() && colon != std::string::npos) {
    auto host = advertised.substr(0, colon);
    if (host.size() > 2 && host.front() == '[')
      host = host.substr(1, host.size() - 2);
    local.push_back(
        json{{"address", host}, {"port", std::atoi(advertised.c_str() + colon + 1)}, {"score", 1}});
  }
  return json{
      {"version", version_number(facts.version)},
      {"subversion", facts.user_agent},
      {"protocolversion", facts.protocol_version},
      {"localservices", to_hex(std::array<std::uint8_t, 8>{
                            0, 0, 0, 0, 0, 0, 0, static_cast<std::uint8_t>(facts.services)})},
      {"localservicesnames", json::array({"NETWORK"})},
      {"localrelay", true},
      {"timeoffset", 0},
      {"networkactive", true},
      {"connections", connections},
      {"connections_in", inbound},
      {"connections_out", connections - inbound},
      {"networks", std::move(networks)},
      {"relayfee", 0.00001},
      {"incrementalfee", 0.00001},
      {"localaddresses", std::move(local)},
      {"warnings", json::array()},
  };
}

json peer_info_result(const json& peers_status, std::int64_t now_unix) {
  json out = json::array();
  auto peers = peers_status.find("peers");
  if (peers == peers_status.end() || !peers->is_array())
    return out;
  for (const auto& p : *peers) {
    if (field<std::string>(p, "state", "") != "ready")
      continue;
    const json none = json::object();
    const json& score = p.contains("score") ? p["score"] : none;
    auto addr = field<std::string>(p, "remote", "");
    auto type = field<std::string>(p, "type", "");
    json peer{
        {"id", field<std::int64_t>(p, "id", 0)},
        {"addr", addr},
        {"network", network_of(addr)},
        {"services", "0000000000000001"},
        {"servicesnames", json::array({"NETWORK"})},
        {"relaytxes", type != "block-relay"},
        {"bytessent", field<std::int64_t>(score, "bytes-sent", 0)},
        {"bytesrecv", field<std::int64_t>(score, "bytes-received", 0)},
        {"conntime", now_unix - field<std::int64_t>(score, "connected-seconds", 0)},
        {"timeoffset", 0},
        {"subver", field<std::string>(p, "user-agent", "")},
        {"inbound", type == "inbound"},
        {"startingheight", field<std::int64_t>(p, "start-height", 0)},
        {"synced_headers", field<std::int64_t>(score, "best-height", -1)},
        {"synced_blocks", field<std::int64_t>(score, "best-height", -1)},
        {"connection_type", connection_type_of(type)},
        {"transport_protocol_type", field<std::string>(p, "transport", "")},
    };
    if (auto ping = field<double>(score, "ping-ms", -1); ping >= 0)
      peer["pingtime"] = ping / 1000.0;
    if (auto min = field<double>(score, "min-ping-ms", -1); min >= 0)
      peer["minping"] = min / 1000.0;
    out.push_back(std::move(peer));
  }
  return out;
}

json net_totals_result(const json& peers_status, const json& sync_status, std::int64_t now_ms) {
  json upload{{"timeframe", 86400},       {"target", 0},
              {"target_reached", false},  {"serve_historical_blocks", true},
              {"bytes_left_in_cycle", 0}, {"time_left_in_cycle", 0}};
  if (auto t = sync_status.find("upload-target"); t != sync_status.end() && t->is_object()) {
    upload["target"] = field<std::int64_t>(*t, "target-bytes", 0);
    bool reached = field<bool>(*t, "historical-limit-reached", false);
    upload["target_reached"] = reached;
    upload["serve_historical_blocks"] = !reached;
    upload["bytes_left_in_cycle"] = field<std::int64_t>(*t, "left", 0);
    upload["time_left_in_cycle"] = field<std::int64_t>(*t, "seconds-left-in-cycle", 0);
  }
  return json{{"totalbytesrecv", field<std::int64_t>(peers_status, "bytes-received-total", 0)},
              {"totalbytessent", field<std::int64_t>(peers_status, "bytes-sent-total", 0)},
              {"timemillis", now_ms},
              {"uploadtarget", std::move(upload)}};
}

json banned_result(const json& bans, std::int64_t now_unix) {
  json out = json::array();
  if (!bans.is_array())
    return out;
  for (const auto& b : bans) {
    auto left = field<std::int64_t>(b, "seconds-left", -1);
    // The security manager keeps when a ban ends, not when it began: a ban "forever" (until
    // lifted) is shown ending at 0, and every ban as created now (documented difference).
    out.push_back(json{{"address", field<std::string>(b, "subnet", "")},
                       {"ban_created", now_unix},
                       {"banned_until", left < 0 ? 0 : now_unix + left},
                       {"ban_duration", left < 0 ? 0 : left},
                       {"time_remaining", left < 0 ? 0 : left},
                       {"ban_reason", field<std::string>(b, "reason", "")}});
  }
  return out;
}

std::string submitblock_refusal(std::string_view reason) {
  if (reason.find("already have it") != std::string_view::npos)
    return "duplicate";
  if (reason.find("not the next block") != std::string_view::npos
      || reason.find("does not extend") != std::string_view::npos)
    return "inconclusive";
  return "rejected: " + std::string{reason};
}

} // namespace qtc::rpc
