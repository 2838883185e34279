// qtc-attack against a real qtcnode: every attack runs briefly (1–2 s, a few source addresses)
// and its JSON report shows that it really happened — pongs or headers came back, the getdata
// bursts went out, junk and bad checksums were cut off, churn came from many addresses. The
// node's security verdicts are deliberately not asserted here (they are the security tests'
// business): only that each attack runs and is observable. Plus the tool's refusals: bad
// arguments exit 2 naming the option, a target outside loopback is refused, an unreachable one
// exits 1.
//
// One node per case; within a case each attack comes from its own /16 (--first-subnet) so that
// what the node thinks of one attack's addresses cannot change what the next one sees.
#include "support/process.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <set>
#include <sstream>
#include <sys/socket.h>

using namespace qtc::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

const std::string qtcnode = QTCNODE_BINARY;
const std::string chaingen = QTC_CHAINGEN_BINARY;
const std::string attack_tool = QTC_ATTACK_BINARY;
const std::filesystem::path source_dir = QTC_SOURCE_DIR;
const std::string regtest_spec = (source_dir / "config" / "regtest.toml").string();
constexpr int chain_blocks = 40;

/// A qtcnode on 127.0.0.1 (a free port) serving a 40-block chain; `chain_copy` holds the same
/// chain for --data-dir. It dials nobody and its resolver is a dead port: only attackers talk
/// to it.
struct target_node {
  temp_dir dir;
  std::filesystem::path chain_copy = dir.path() / "copy";
  std::unique_ptr<child_process> process;
  std::uint16_t port = 0;

  target_node() {
    auto data = dir.path() / "data";
    auto gen = run_to_completion(chaingen, {"--chain-spec=" + regtest_spec,
                                            "--blocks=" + std::to_string(chain_blocks),
                                            "--data-dir=" + data.string()});
    REQUIRE_MESSAGE(gen.exit_code == 0, gen.output);
    std::filesystem::create_directories(chain_copy);
    std::filesystem::copy(data / "chain", chain_copy / "chain",
                          std::filesystem::copy_options::recursive);
    auto dead_dns = "127.0.0.1:" + std::to_string(free_loopback_port(SOCK_DGRAM));
    process = std::make_unique<child_process>(
        qtcnode,
        std::vector<std::string>{
            "--qtcnode.chain-spec=" + regtest_spec, "--qtcnode.data-dir=" + data.string(),
            "--qtcnode.p2p-port=-1", "--qtcnode.metrics-port=-1", "--qtcnode.rpc-port=0",
            "--qtcnode.dns-servers=" + dead_dns, "--qtcnode.outbound-full-relay=0",
            "--qtcnode.outbound-block-relay=0", "--qtcnode.log-level=info",
            "--scheduler.max-threads=2"},
        dir.path() / "node.log");
    auto listening = process->wait_for_line("msg=\"listening for peers\"", 30s);
    REQUIRE_MESSAGE(listening, process->output());
    port = static_cast<std::uint16_t>(std::stoi(field_value(*listening, "port").value_or("0")));
    REQUIRE_MESSAGE(process->wait_for_line("msg=\"node running\"", 30s), process->output());
  }

  std::string target() const {
    return "--target=127.0.0.1:" + std::to_string(port);
  }
};

struct attack_result {
  int exit_code = -1;
  json report;     ///< the JSON object on stdout (null if there was none)
  std::string log; ///< everything the tool wrote
  const json& total() const {
    return report.at("aggregate");
  }
  /// A count from the aggregate's map `map` (sent, received, attack_counters), 0 if absent.
  std::uint64_t count(const std::string& map, const std::string& key) const {
    const auto& m = total().at(map);
    return m.contains(key) ? m.at(key).get<std::uint64_t>() : 0;
  }
  std::uint64_t number(const std::string& key) const {
    return total().at(key).get<std::uint64_t>();
  }
};

attack_result run_attack(const std::vector<std::string>& args) {
  auto r = run_to_completion(attack_tool, args, 60s);
  attack_result out;
  out.exit_code = r.exit_code;
  out.log = r.output;
  std::istringstream lines{r.output};
  for (std::string line; std::getline(lines, line);)
    if (!line.empty() && line.front() == '{')
      out.report = json::parse(line, nullptr, false);
  return out;
}

/// Runs `attack` against `node` from `sources` addresses in the /16 127.`subnet`.
attack_result attack(const target_node& node, const std::string& name, int subnet, int sources,
                     std::vector<std::string> more = {}) {
  std::vector<std::string> args{node.target(),
                                "--chain-spec=" + regtest_spec,
                                "--attack=" + name,
                                "--first-subnet=" + std::to_string(subnet),
                                "--sources=" + std::to_string(sources),
                                "--duration=1.5"};
  args.insert(args.end(), more.begin(), more.end());
  auto r = run_attack(args);
  INFO(name << ": " << r.log);
  REQUIRE(r.exit_code == 0);
  REQUIRE(r.report.is_object());
  CHECK(r.report.at("attack") == name);
  CHECK(r.number("connections_attempted") >= static_cast<std::uint64_t>(sources));
  CHECK(r.number("distinct_sources") == static_cast<std::uint64_t>(sources));
  // Every connection is accounted for exactly once.
  CHECK(r.number("refused") + r.number("closed_by_node") + r.number("closed_by_us")
            + r.number("open_at_end")
        == r.number("connections_attempted"));
  MESSAGE(name << ": " << r.total().dump());
  return r;
}

} // namespace

TEST_SUITE("e2e") {

  TEST_CASE("qtc-attack: floods over completed handshakes reach a real node") {
    target_node node;
    auto ping = attack(node, "ping-flood", 1, 2, {"--rate=50"});
    CHECK(ping.number("version_handshakes") >= 1);
    CHECK(ping.count("sent", "ping") >= 10);
    // Answered with pongs, or cut off by the node: either way observed.
    CHECK(ping.count("received", "pong") + ping.number("closed_by_node") >= 1);

    auto getheaders = attack(node, "getheaders-flood", 2, 2, {"--rate=20"});
    CHECK(getheaders.count("sent", "getheaders") >= 5);
    CHECK(getheaders.count("received", "headers") >= 1);

    auto unknown = attack(node, "unknown-flood", 3, 2, {"--rate=20"});
    CHECK(unknown.count("sent", "qtc-attack") >= 5);

    auto addr = attack(node, "addr-flood", 4, 2, {"--rate=5"});
    CHECK(addr.count("sent", "addr") >= 2);
    CHECK(addr.number("bytes_sent") >= 2 * 30000); // 1000 addresses of 30 bytes each

    auto inv = attack(node, "inv-flood", 5, 2, {"--rate=2", "--items=1000"});
    CHECK(inv.count("sent", "inv") >= 2);

    auto shared = attack(node, "shared-identity", 6, 3);
    CHECK(shared.number("handshakes_completed") >= 1);
    CHECK(shared.report.at("parameters").at("shared_static_key").get<std::string>().size() == 64);
  }

  TEST_CASE("qtc-attack: getdata bursts from a non-reader and an amplifier") {
    target_node node;
    auto nonreader =
        attack(node, "getdata-nonreader", 1, 2, {"--bursts=2", "--items=50000", "--duration=1"});
    CHECK(nonreader.number("version_handshakes") == 2);
    // It learned the chain by getheaders, then sent both bursts of 50,000 entries (36 bytes
    // each) on both connections.
    CHECK(nonreader.count("received", "headers") >= 1);
    CHECK(nonreader.count("attack_counters", "getdata_bursts_queued") == 4);
    CHECK(nonreader.count("sent", "getdata") == 4);
    CHECK(nonreader.number("bytes_sent") > 4 * 50000 * 36);
    CHECK(nonreader.count("received", "block") == 0); // it never read an answer

    auto amplify = attack(node, "getdata-amplify", 2, 1, {"--items=2000"});
    CHECK(amplify.count("received", "block") >= 1);
    CHECK(amplify.number("bytes_received") > amplify.number("bytes_sent"));

    // With --data-dir the hashes come from the store: no getheaders at all.
    auto stored = attack(node, "getdata-amplify", 3, 1,
                         {"--items=500", "--data-dir=" + node.chain_copy.string()});
    CHECK(stored.count("sent", "getheaders") == 0);
    CHECK(stored.count("received", "block") >= 1);
  }

  TEST_CASE("qtc-attack: slow and silent handshakes and a partial frame are held open") {
    target_node node;
    auto slow = attack(node, "slow-version", 1, 2, {"--interval-ms=100"});
    CHECK(slow.number("transport_handshakes") == 2);
    CHECK(slow.count("attack_counters", "version_bytes_dripped") >= 5);
    CHECK(slow.count("attack_counters", "versions_completed") == 0); // 1.5 s is too short for it

    auto no_verack = attack(node, "no-verack", 2, 2);
    CHECK(no_verack.count("sent", "version") == 2);
    CHECK(no_verack.count("sent", "verack") == 0);
    CHECK(no_verack.number("version_handshakes") == 0);

    auto silent = attack(node, "silent", 3, 2);
    CHECK(silent.number("transport_handshakes") == 2);
    CHECK(silent.number("messages_sent") == 0);

    auto partial = attack(node, "partial-frame", 4, 2, {"--bytes=500000"});
    CHECK(partial.number("version_handshakes") == 2);
    CHECK(partial.count("attack_counters", "partial_frame_bytes") == 2 * 500000);
  }

  TEST_CASE("qtc-attack: junk and bad checksums are cut off by the node") {
    target_node node;
    auto junk = attack(node, "junk-handshake", 1, 3);
    CHECK(junk.count("attack_counters", "junk_bytes") == 3 * 65537);
    CHECK(junk.number("transport_handshakes") == 0);
    CHECK(junk.number("open_at_end") == 0);
    CHECK(junk.number("closed_by_node") + junk.number("refused") == 3);

    auto checksum = attack(node, "bad-checksum", 2, 2, {"--rate=20"});
    CHECK(checksum.count("sent", "ping(bad-checksum)") >= 1);
    CHECK(checksum.number("open_at_end") == 0);

    auto spam = attack(node, "header-spam", 3, 1, {"--rate=20", "--items=1"});
    CHECK(spam.count("sent", "headers") >= 1);
  }

  TEST_CASE("qtc-attack: connection churn from many source addresses") {
    target_node node;
    auto churn = attack(node, "connection-churn", 1, 6, {"--subnets=3", "--rate=5"});
    CHECK(churn.number("connections_attempted") >= 12);
    CHECK(churn.number("handshakes_completed") >= 6);
    // Six addresses in three /16s, each of which made several connections.
    std::set<std::string> subnets;
    for (const auto& s : churn.report.at("sources")) {
      CHECK(s.at("connections_attempted").get<int>() >= 2);
      auto ip = s.at("source").get<std::string>();
      subnets.insert(ip.substr(0, ip.find('.', 4)));
    }
    CHECK(subnets == std::set<std::string>{"127.1", "127.2", "127.3"});

    auto tcp_only =
        attack(node, "connection-churn", 10, 4, {"--rate=10", "--handshake=no", "--duration=1"});
    CHECK(tcp_only.number("connections_attempted") >= 20);
    CHECK(tcp_only.number("messages_sent") == 0);
    CHECK(tcp_only.report.at("parameters").at("goal") == "tcp");
  }

  TEST_CASE("qtc-attack: --help and bad arguments exit 2 and an unreachable target exits 1") {
    auto help = run_attack({"--help"});
    CHECK(help.exit_code == 0);
    CHECK(help.log.find("--attack=NAME") != std::string::npos);
    CHECK(help.log.find("getdata-nonreader") != std::string::npos);
    auto spec = "--chain-spec=" + regtest_spec;
    temp_dir empty;
    struct bad_case {
      std::vector<std::string> args;
      std::string says;
    };
    for (const auto& c : std::vector<bad_case>{
             {{}, "--target, --chain-spec and --attack are required"},
             {{"--target=10.0.0.1:18444", spec, "--attack=silent"}, "not a loopback address"},
             {{"--target=[2001:db8::1]:18444", spec, "--attack=silent"}, "not a loopback address"},
             {{"--target=127.0.0.1", spec, "--attack=silent"}, "--target: expected IP:PORT"},
             {{"--target=127.0.0.1:1", spec, "--attack=nonsense"}, "--attack: unknown attack"},
             {{"--target=127.0.0.1:1", spec, "--attack=silent", "--sources=0"}, "--sources:"},
             {{"--target=127.0.0.1:1", spec, "--attack=silent", "--sources=500", "--connections=3"},
              "above the limit of 1000"},
             {{"--target=127.0.0.1:1", spec, "--attack=silent", "--duration=601"}, "--duration:"},
             {{"--target=127.0.0.1:1", spec, "--attack=ping-flood", "--rate=0"}, "--rate:"},
             {{"--target=127.0.0.1:1", spec, "--attack=silent", "--subnets=3", "--sources=2"},
              "--subnets:"},
             {{"--target=127.0.0.1:1", spec, "--attack=header-spam", "--items=2001"}, "--items:"},
             {{"--target=127.0.0.1:1", spec, "--attack=low-work-headers", "--items=2001"},
              "--items:"},
             {{"--target=127.0.0.1:1",
               "--chain-spec=" + (source_dir / "config" / "mainnet.toml").string(),
               "--attack=low-work-headers"},
              "target is too hard"},
             {{"--target=127.0.0.1:1",
               "--chain-spec=" + (source_dir / "config" / "mainnet.toml").string(),
               "--attack=header-spam"},
              "--attack=header-spam mines its headers"},
             {{"--target=127.0.0.1:1", spec, "--attack=connection-churn", "--handshake=maybe"},
              "--handshake:"},
             {{"--target=[::1]:1", spec, "--attack=silent", "--sources=2"}, "--sources:"},
             {{"--target=127.0.0.1:1", "--chain-spec=/nonexistent.toml", "--attack=silent"},
              "--chain-spec:"},
             {{"--target=127.0.0.1:1", spec, "--attack=getdata-amplify",
               "--data-dir=" + empty.path().string()},
              "--data-dir:"},
             {{"--target=127.0.0.1:1", spec, "--attack=shared-identity", "--key-file=/nonexistent"},
              "--key-file:"},
             {{"--target=127.0.0.1:1", spec, "--attack=silent", "--frobnicate=1"},
              "unknown option"},
         }) {
      CAPTURE(c.says);
      auto r = run_attack(c.args);
      CHECK(r.exit_code == 2);
      CHECK_MESSAGE(r.log.find(c.says) != std::string::npos, r.log);
      CHECK(r.report.is_null()); // nothing ran
    }
    // Nothing listens on this port: every connect is refused, and the tool says so.
    auto port = std::to_string(free_loopback_port(SOCK_STREAM));
    auto r = run_attack(
        {"--target=127.0.0.1:" + port, spec, "--attack=ping-flood", "--sources=3", "--duration=2"});
    CHECK(r.exit_code == 1);
    REQUIRE(r.report.is_object());
    CHECK(r.total().at("refused") == 3);
    CHECK(r.total().at("ends").at("connect: Connection refused") == 3);
    CHECK_MESSAGE(r.log.find("no connection reached 127.0.0.1:" + port) != std::string::npos,
                  r.log);
  }
}
