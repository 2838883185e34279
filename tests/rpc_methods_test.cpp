// The RPC method table and parameter binding (runtime/rpc/rpc_methods) as bitcoind's
// RPCHelpMan checks: -1 with the help for too many or too few parameters, -3 for a wrong JSON
// type, -8 for an unknown named one; and the pure result builders (runtime/rpc/rpc_results).
#include "messages/primitives/hex.hpp"
#include "runtime/rpc/rpc_methods.hpp"
#include "runtime/rpc/rpc_results.hpp"

#include <doctest/doctest.h>

#include <vector>

using namespace qtc;
using namespace qtc::rpc;
using json = nlohmann::json;

namespace {

const method_spec& method(std::string_view name) {
  const auto* m = find_method(name);
  REQUIRE_MESSAGE(m != nullptr, name);
  return *m;
}

std::vector<json> bound(std::string_view name, const char* params) {
  auto r = bind_params(method(name), json::parse(params));
  if (auto* e = std::get_if<rpc_error>(&r))
    FAIL(name << " " << params << ": " << e->message);
  return std::get<std::vector<json>>(r);
}

rpc_error refused(std::string_view name, const char* params) {
  auto r = bind_params(method(name), json::parse(params));
  REQUIRE(std::holds_alternative<rpc_error>(r));
  return std::get<rpc_error>(r);
}

const std::string regtest_genesis =
    "0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206";

} // namespace

TEST_SUITE_BEGIN("rpc");

TEST_CASE("rpc methods: the 20 methods, in help's order") {
  std::vector<std::string> names;
  for (const auto& m : methods())
    names.emplace_back(m.name);
  CHECK(names
        == std::vector<std::string>{"getbestblockhash",
                                    "getblock",
                                    "getblockchaininfo",
                                    "getblockcount",
                                    "getblockhash",
                                    "getblockheader",
                                    "submitblock",
                                    "addnode",
                                    "clearbanned",
                                    "disconnectnode",
                                    "getconnectioncount",
                                    "getnettotals",
                                    "getnetworkinfo",
                                    "getpeerinfo",
                                    "listbanned",
                                    "ping",
                                    "setban",
                                    "help",
                                    "stop",
                                    "uptime"});
  CHECK(find_method("getblock") == &methods()[1]);
  CHECK(find_method("getblocktemplate") == nullptr);
  CHECK(find_method("") == nullptr);
  CHECK(find_method("GetBlock") == nullptr);
}

TEST_CASE("rpc methods: positional and named parameters bind in the method's order") {
  CHECK(bound("getblock", R"(["h", 0])") == std::vector<json>{"h", 0});
  CHECK(bound("getblock", R"(["h"])") == std::vector<json>{"h", nullptr});
  CHECK(bound("getblock", R"(["h", true])") == std::vector<json>{"h", true});
  CHECK(bound("getblock", R"({"verbosity": 0, "blockhash": "h"})") == std::vector<json>{"h", 0});
  CHECK(bound("getblock", R"({"blockhash": "h"})") == std::vector<json>{"h", nullptr});
  CHECK(bound("setban", R"({"command": "add", "subnet": "10.0.0.0/8", "absolute": true})")
        == std::vector<json>{"10.0.0.0/8", "add", nullptr, true});
  CHECK(bound("getblockcount", "[]").empty());
  CHECK(bound("getblockcount", "{}").empty());
  // An optional parameter given as null is absent, as bitcoind treats it.
  CHECK(bound("disconnectnode", R"([null, 3])") == std::vector<json>{nullptr, 3});
}

TEST_CASE("rpc methods: too many or too few parameters are -1 with the method's help") {
  for (auto [name, params] :
       {std::pair{"getblockcount", "[1]"}, std::pair{"getblock", "[]"},
        std::pair{"getblock", R"(["h", 1, 2])"}, std::pair{"getblock", "{}"},
        std::pair{"getblock", R"({"verbosity":1})"}, std::pair{"getblockhash", "[null]"},
        std::pair{"addnode", R"(["1.2.3.4:8333"])"}}) {
    CAPTURE(name);
    CAPTURE(params);
    auto e = refused(name, params);
    CHECK(e.code == error_code::misc_error);
    CHECK(e.message == help_text(method(name)));
  }
}

TEST_CASE("rpc methods: a parameter of the wrong JSON type is -3 naming both types") {
  struct type_case {
    const char* name;
    const char* params;
    const char* message;
  };
  for (auto [name, params, message] : {
           type_case{"getblockhash", R"(["0"])",
                     "JSON value of type string for field height is not of expected type number"},
           type_case{"getblockhash", "[1.5]",
                     "JSON value of type number for field height is not of expected type number"},
           type_case{
               "getblock", "[5]",
               "JSON value of type number for field blockhash is not of expected type string"},
           type_case{"getblock", R"(["h", "1"])",
                     "JSON value of type string for field verbosity is not of expected type "
                     "number or bool"},
           type_case{"getblockheader", R"(["h", 1])",
                     "JSON value of type number for field verbose is not of expected type bool"},
           type_case{"setban", R"({"subnet": "1.2.3.4", "command": "add", "bantime": [1]})",
                     "JSON value of type array for field bantime is not of expected type number"},
           type_case{"help", R"([{}])",
                     "JSON value of type object for field command is not of expected type string"},
       }) {
    CAPTURE(name);
    CAPTURE(params);
    auto e = refused(name, params);
    CHECK(e.code == error_code::type_error);
    CHECK(e.message == message);
  }
}

TEST_CASE("rpc methods: an unknown named parameter is -8") {
  auto e = refused("getblock", R"({"blockhash": "h", "verbose": 1})");
  CHECK(e.code == error_code::invalid_parameter);
  CHECK(e.message == "Unknown named parameter verbose");
  CHECK(refused("uptime", R"({"x": null})").message == "Unknown named parameter x");
}

TEST_CASE("rpc methods: help for one method and the overview") {
  CHECK(help_text(method("getblockhash"))
        == "getblockhash \"height\"\n\nReturns the hash of the best chain's block at a height.\n"
           "\nArguments:\n1. height (number, required) the height in the best chain\n"
           "\nResult:\n\"hex\" (string) the hash\n");
  CHECK(help_text(method("uptime"))
        == "uptime\n\nReturns the seconds since the node started.\n\nResult:\nn (numeric)\n");
  CHECK(help_text(method("getblock")).rfind("getblock \"blockhash\" ( \"verbosity\" )\n", 0) == 0);
  auto overview = help_overview();
  CHECK(overview.rfind(
            "== Blockchain ==\ngetbestblockhash\ngetblock \"blockhash\" ( \"verbosity\" )\n", 0)
        == 0);
  CHECK(overview.find("\n\n== Mining ==\nsubmitblock \"hexdata\" ( \"dummy\" )\n")
        != std::string::npos);
  CHECK(overview.find("\n\n== Network ==\naddnode \"node\" \"command\"\n") != std::string::npos);
  CHECK(overview.find("\n\n== Control ==\nhelp ( \"command\" )\nstop\nuptime\n")
        != std::string::npos);
  CHECK(overview.substr(overview.size() - 7) == "uptime\n");
}

TEST_CASE("rpc methods: JSON type names as bitcoind's errors spell them") {
  CHECK(json_type_name(nullptr) == "null");
  CHECK(json_type_name(true) == "bool");
  CHECK(json_type_name(1) == "number");
  CHECK(json_type_name(-1) == "number");
  CHECK(json_type_name(1.5) == "number");
  CHECK(json_type_name("x") == "string");
  CHECK(json_type_name(json::array()) == "array");
  CHECK(json_type_name(json::object()) == "object");
}

TEST_CASE("rpc results: difficulty, versionHex and the version number as bitcoind's") {
  CHECK(difficulty_of(0x1d00ffff) == 1.0);
  CHECK(difficulty_of(0x1b0404cb) == doctest::Approx(16307.420938523983));
  CHECK(difficulty_of(0x207fffff) == doctest::Approx(4.656542373906925e-10));
  CHECK(difficulty_of(0x1d000000) == 0.0);
  CHECK(version_hex(0x20000000) == "20000000");
  CHECK(version_hex(1) == "00000001");
  CHECK(version_hex(-1) == "ffffffff");
  CHECK(version_number("0.1.0") == 100);
  CHECK(version_number("28.1.0") == 280100);
  CHECK(version_number("1.2") == 10200);
  CHECK(version_number("0.21.2rc1") == 2102);
}

TEST_CASE("rpc results: getblockheader and getblock objects from a header report") {
  json report{{"hash", regtest_genesis},
              {"confirmations", 3},
              {"height", 2},
              {"version", 0x20000000},
              {"merkleroot", "ab"},
              {"time", 1296688602},
              {"mediantime", 1296688600},
              {"nonce", 2},
              {"bits", 0x207fffff},
              {"chainwork", "06"},
              {"previousblockhash", "p"}};
  auto h = header_result(report);
  CHECK(h["hash"] == regtest_genesis);
  CHECK(h["confirmations"] == 3);
  CHECK(h["height"] == 2);
  CHECK(h["version"] == 0x20000000);
  CHECK(h["versionHex"] == "20000000");
  CHECK(h["bits"] == "207fffff");
  CHECK(h["difficulty"].get<double>() == doctest::Approx(4.656542373906925e-10));
  CHECK(h["time"] == 1296688602);
  CHECK(h["mediantime"] == 1296688600);
  CHECK(h["previousblockhash"] == "p");
  CHECK_FALSE(h.contains("nextblockhash")); // the tip has none
  // Fields absent from the report take bitcoind's neutral values.
  auto bare = header_result(json::object());
  CHECK(bare["confirmations"] == -1);
  CHECK(bare["hash"] == "");
  CHECK(bare["bits"] == "00000000");
  CHECK(bare["difficulty"] == 0.0);
  block b;
  b.txs.resize(2);
  b.txs[1].lock_time = 7;
  auto full = block_result(report, b, 250);
  CHECK(full["size"] == 250);
  CHECK(full["strippedsize"] == 250);
  CHECK(full["weight"] == 1000);
  CHECK(full["nTx"] == 2);
  CHECK(full["tx"]
        == json::array({to_display_hex(txid(b.txs[0])), to_display_hex(txid(b.txs[1]))}));
  CHECK(full["tx"][0] != full["tx"][1]);
  CHECK(full["hash"] == regtest_genesis);
}

TEST_CASE("rpc results: getblockchaininfo from the sync status and the tip") {
  json tip{{"blocks", 10}, {"headers", 12},   {"hash", regtest_genesis}, {"bits", 0x1d00ffff},
           {"time", 5},    {"mediantime", 4}, {"chainwork", "0b"}};
  auto synced =
      blockchain_info_result("regtest", json{{"state", "synced"}, {"progress", 1.0}}, tip, 4096);
  CHECK(synced["chain"] == "regtest");
  CHECK(synced["blocks"] == 10);
  CHECK(synced["headers"] == 12);
  CHECK(synced["bestblockhash"] == regtest_genesis);
  CHECK(synced["difficulty"] == 1.0);
  CHECK(synced["verificationprogress"] == 1.0);
  CHECK(synced["initialblockdownload"] == false);
  CHECK(synced["size_on_disk"] == 4096);
  CHECK(synced["pruned"] == false);
  CHECK(blockchain_info_result("main", json{{"state", "blocks"}}, tip, 0)["initialblockdownload"]
        == true);
}

TEST_CASE("rpc results: getnetworkinfo, getpeerinfo and getnettotals from the peer manager") {
  node_facts facts{"/qtcnode:0.1.0/", "0.1.0", 70016, 1};
  auto info = network_info_result(
      json{{"connections", 5}, {"inbound", 2}, {"advertised", "[2001:db8::1]:18444"}}, facts);
  CHECK(info["version"] == 100);
  CHECK(info["subversion"] == "/qtcnode:0.1.0/");
  CHECK(info["protocolversion"] == 70016);
  CHECK(info["localservices"] == "0000000000000001");
  CHECK(info["connections"] == 5);
  CHECK(info["connections_in"] == 2);
  CHECK(info["connections_out"] == 3);
  CHECK(info["localaddresses"]
        == json::parse(R"([{"address":"2001:db8::1","port":18444,"score":1}])"));
  CHECK(network_info_result(json::object(), facts)["localaddresses"] == json::array());

  json peers{
      {"peers", json::array({json{{"id", 4},
                                  {"state", "ready"},
                                  {"remote", "[::1]:18444"},
                                  {"type", "block-relay"},
                                  {"user-agent", "/x/"},
                                  {"start-height", 9},
                                  {"transport", "tls"},
                                  {"score",
                                   {{"bytes-sent", 100},
                                    {"bytes-received", 200},
                                    {"connected-seconds", 30},
                                    {"ping-ms", 250.0},
                                    {"best-height", 8}}}},
                             json{{"id", 5}, {"state", "handshaking"}, {"remote", "1.2.3.4:1"}}})}};
  auto list = peer_info_result(peers, 1000);
  REQUIRE(list.size() == 1); // only ready peers
  auto p = list[0];
  CHECK(p["id"] == 4);
  CHECK(p["addr"] == "[::1]:18444");
  CHECK(p["network"] == "ipv6");
  CHECK(p["relaytxes"] == false);
  CHECK(p["connection_type"] == "block-relay-only");
  CHECK(p["inbound"] == false);
  CHECK(p["bytessent"] == 100);
  CHECK(p["bytesrecv"] == 200);
  CHECK(p["conntime"] == 970);
  CHECK(p["pingtime"] == 0.25);
  CHECK_FALSE(p.contains("minping"));
  CHECK(p["synced_headers"] == 8);
  CHECK(p["startingheight"] == 9);
  CHECK(p["transport_protocol_type"] == "tls");
  CHECK(peer_info_result(json::object(), 0) == json::array());

  auto totals = net_totals_result(json{{"bytes-received-total", 7}, {"bytes-sent-total", 9}},
                                  json{{"upload-target",
                                        {{"target-bytes", 1000},
                                         {"historical-limit-reached", true},
                                         {"left", 10},
                                         {"seconds-left-in-cycle", 60}}}},
                                  1234);
  CHECK(totals["totalbytesrecv"] == 7);
  CHECK(totals["totalbytessent"] == 9);
  CHECK(totals["timemillis"] == 1234);
  CHECK(totals["uploadtarget"]
        == json::parse(R"({"timeframe":86400,"target":1000,"target_reached":true,
                           "serve_historical_blocks":false,"bytes_left_in_cycle":10,
                           "time_left_in_cycle":60})"));
  CHECK(net_totals_result(json::object(), json::object(), 0)["uploadtarget"]["target"] == 0);
}

TEST_CASE("rpc results: listbanned and submitblock's refusals") {
  auto bans =
      banned_result(json::parse(R"([{"subnet":"10.0.0.0/8","seconds-left":3600,"reason":"r"},
                                            {"subnet":"1.2.3.4/32","seconds-left":-1}])"),
                    1000);
  CHECK(bans == json::parse(R"([{"address":"10.0.0.0/8","ban_created":1000,"banned_until":4600,
                                 "ban_duration":3600,"time_remaining":3600,"ban_reason":"r"},
                                {"address":"1.2.3.4/32","ban_created":1000,"banned_until":0,
                                 "ban_duration":0,"time_remaining":0,"ban_reason":""}])"));
  CHECK(banned_result(json::object(), 0) == json::array());
  CHECK(submitblock_refusal("we already have it") == "duplicate");
  CHECK(submitblock_refusal("not the next block of the tip") == "inconclusive");
  CHECK(submitblock_refusal("it does not extend the best chain") == "inconclusive");
  CHECK(submitblock_refusal("bad merkle root") == "rejected: bad merkle root");
}

TEST_SUITE_END();
