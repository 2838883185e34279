// qtc-network-test against the local network the e2e tests build (tests/support/e2e_network:
// a real dnsmasq answering the chain spec's seed names, four qtcnode processes serving a
// 10,000-block chain): healthy, then degraded by a seed name nobody publishes and a peer
// (qtc-badpeer) serving a header with a bad proof of work; and its usage errors.
#include "support/e2e_network.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <set>

using namespace qtc::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

const std::string network_test = QTC_NETWORK_TEST_BINARY;

run_result run_network_test(const e2e_network& net, std::vector<std::string> more) {
  std::vector<std::string> args{"--chain-spec=" + net.spec_file.string(),
                                "--dns-servers=" + net.dns_server(), "--timeout=10"};
  args.insert(args.end(), more.begin(), more.end());
  return run_to_completion(network_test, args, 120s);
}

json parse_report(const run_result& r) {
  auto doc = json::parse(r.output, nullptr, false);
  REQUIRE_MESSAGE(doc.is_object(), r.output);
  return doc;
}

const json* find_check(const json& doc, const std::string& name) {
  for (const auto& c : doc["checks"])
    if (c["name"] == name)
      return &c;
  return nullptr;
}

} // namespace

TEST_SUITE("e2e") {
  TEST_CASE("e2e network test: a healthy network passes every check over Noise and TLS, with "
            "QuantumProof and 10,000 valid headers from every peer") {
    e2e_network net{81};
    net.start_dns();
    net.start_serving();
    auto r = run_network_test(net, {"--json"});
    CHECK_MESSAGE(r.exit_code == 0, r.output);
    auto doc = parse_report(r);
    CHECK(doc["verdict"] == "healthy");
    CHECK(doc["chain"] == "regtest");
    // Both seeds, all four record types asked; seed1's A records and seed2's SRV and TXT.
    REQUIRE(doc["seeds"].size() == 8);
    std::set<std::string> peers_found;
    for (const auto& q : doc["seeds"])
      for (const auto& p : q["peers"])
        peers_found.insert(p.get<std::string>());
    CHECK(peers_found
          == std::set<std::string>{net.ip(11) + ":18444", net.ip(12) + ":18444",
                                   net.ip(13) + ":18444", net.ip(14) + ":18444"});
    for (const auto& q : doc["seeds"])
      if (q["type"] == "AAAA")
        CHECK(q["result"] == "no-data");
    // Four peers, each over both transports, every step passed.
    REQUIRE(doc["peers"].size() == 8);
    std::set<std::string> transports;
    for (const auto& p : doc["peers"]) {
      INFO(p.dump());
      CHECK(p["result"] == "ok");
      CHECK(p["post_quantum"] == true);
      CHECK(p["node_id"].get<std::string>().size() == 64);
      CHECK(p["headers"] == 10000);
      CHECK(p["start_height"] == 10000);
      CHECK(p["tip"] == net.tip);
      CHECK(p["addresses"].is_number());
      CHECK(p["handshake_ms"].get<double>() > 0);
      CHECK(p["user_agent"].get<std::string>().rfind("/qtcnode:", 0) == 0);
      transports.insert(p["transport"].get<std::string>());
    }
    CHECK(transports == std::set<std::string>{"noise", "tls"});
    for (const auto& c : doc["checks"])
      CHECK_MESSAGE(c["ok"] == true, c.dump());
    // The table an operator reads says the same.
    auto table = run_network_test(net, {"--transports=noise", "--peers=2"});
    CHECK_MESSAGE(table.exit_code == 0, table.output);
    CHECK(table.output.find("Verdict: healthy") != std::string::npos);
    CHECK(table.output.find("seed1.regtest.quantumcoin.test") != std::string::npos);
    CHECK(table.output.find("FAILED") == std::string::npos);
  }

  TEST_CASE("e2e network test: a dead seed and a peer serving a bad header are named, exit 1") {
    e2e_network net{82};
    net.write_spec({}, 10, "dead.regtest.quantumcoin.test");
    net.start_dns(false, true);
    net.start_serving();
    net.start_bad_peer("pow", 5000);
    auto r = run_network_test(net, {"--json", "--transports=noise"});
    CHECK_MESSAGE(r.exit_code == 1, r.output);
    auto doc = parse_report(r);
    CHECK(doc["verdict"] == "degraded");
    auto* dead = find_check(doc, "seed dead.regtest.quantumcoin.test");
    REQUIRE_MESSAGE(dead, doc.dump(2));
    CHECK((*dead)["ok"] == false);
    CHECK((*dead)["detail"].get<std::string>().find("nxdomain") != std::string::npos);
    auto* bad = find_check(doc, "peer " + net.ip(15) + ":18444 noise");
    REQUIRE_MESSAGE(bad, doc.dump(2));
    CHECK((*bad)["ok"] == false);
    CHECK((*bad)["detail"].get<std::string>().find("headers: ") == 0);
    CHECK((*bad)["detail"].get<std::string>().find("bad_proof_of_work") != std::string::npos);
    // The honest peers and seeds still pass: the verdict names only what failed.
    for (const auto& name : {"seed seed1.regtest.quantumcoin.test",
                             "seed seed2.regtest.quantumcoin.test", "peers found"}) {
      auto* c = find_check(doc, name);
      REQUIRE_MESSAGE(c, name);
      CHECK_MESSAGE((*c)["ok"] == true, c->dump());
    }
    for (int host : {11, 12, 13, 14}) {
      auto* c = find_check(doc, "peer " + net.ip(host) + ":18444 noise");
      REQUIRE_MESSAGE(c, doc.dump(2));
      CHECK_MESSAGE((*c)["ok"] == true, c->dump());
    }
    auto table = run_network_test(net, {"--transports=noise"});
    CHECK(table.exit_code == 1);
    CHECK(table.output.find("Verdict: degraded (2 of") != std::string::npos);
    CHECK(table.output.find("FAILED  seed dead.regtest.quantumcoin.test") != std::string::npos);
    CHECK(table.output.find("FAILED  peer " + net.ip(15) + ":18444 noise") != std::string::npos);
  }

  TEST_CASE("e2e network test: bad arguments and a broken chain spec exit 2 naming them") {
    auto spec = (source_dir / "config" / "regtest.toml").string();
    struct usage_case {
      std::vector<std::string> args;
      std::string says;
    };
    for (const auto& c : std::vector<usage_case>{
             {{}, "--chain-spec is required"},
             {{"--chain-spec=" + spec, "--peers=lots"}, "--peers: expected a number"},
             {{"--chain-spec=" + spec, "--timeout=0"}, "--timeout: expected seconds"},
             {{"--chain-spec=" + spec, "--transports=carrier-pigeon"}, "--transports"},
             {{"--chain-spec=" + spec, "--connect=seed1.example:18444"}, "must be an IP address"},
             {{"--chain-spec=" + spec, "--dns-servers=not-a-server"}, "--dns-servers"},
             {{"--chain-spec=/nonexistent/spec.toml"}, "/nonexistent/spec.toml"},
             {{"--chain-spec=" + spec, "--frobnicate=1"}, "unknown option: --frobnicate"}}) {
      auto r = run_to_completion(network_test, c.args, 20s);
      INFO(r.output);
      CHECK(r.exit_code == 2);
      CHECK(r.output.find(c.says) != std::string::npos);
    }
  }
}
