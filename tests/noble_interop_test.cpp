// A real qtcnode against an independent peer: tests/interop/noble/peer.mjs, JavaScript written
// from docs/protocol.md only on the npm registry's audited @noble libraries (sharing no code with
// the node). Over loopback TCP, in both roles: the hybrid Noise handshake
// (Noise_XXhfs_25519+MLKEM768_ChaChaPoly_BLAKE2s with the node's mode byte, prologue and handshake
// payload), the QuantumProof (ML-DSA-65) each way, version/verack, then `getheaders` from genesis
// with the headers checked by the peer (linkage, genesis hash, proof of work). And the refusals:
// a proof signed for the wrong role or bound to another session, and the classical mode against
// a `required` node, in both directions.
#include "support/process.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <filesystem>
#include <memory>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
namespace test = qtc::test;

namespace {

const std::filesystem::path source_dir = QTC_SOURCE_DIR;
const std::filesystem::path noble_dir = source_dir / "tests" / "interop" / "noble";
const std::string regtest_spec = (source_dir / "config" / "regtest.toml").string();
constexpr int chain_blocks = 300;

void require_noble() {
  REQUIRE_MESSAGE(std::filesystem::exists(noble_dir / "node_modules" / "@noble" / "post-quantum"),
                  "run `npm ci` in tests/interop/noble (tools/test.sh does)");
}

/// A regtest chain of `blocks` blocks written to `data` by qtc-chaingen; returns its tip.
std::string generate_chain(const std::filesystem::path& data, int blocks) {
  auto r =
      test::run_to_completion(QTC_CHAINGEN_BINARY,
                              {"--chain-spec=" + regtest_spec, "--blocks=" + std::to_string(blocks),
                               "--txs=1", "--data-dir=" + data.string()},
                              60s);
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  std::smatch m;
  REQUIRE_MESSAGE(std::regex_search(r.output, m, std::regex{"tip ([0-9a-f]{64})"}), r.output);
  return m[1];
}

/// qtcnode on regtest, running once constructed: its identity and P2P port are known.
struct node_under_test {
  std::unique_ptr<test::child_process> process;
  std::string node_id;
  std::string static_key;
  std::uint16_t port = 0;

  node_under_test(const test::temp_dir& dir, const std::filesystem::path& data,
                  const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args{"--qtcnode.chain-spec=" + regtest_spec,
                                  "--qtcnode.data-dir=" + data.string(),
                                  "--qtcnode.p2p-port=-1",
                                  "--qtcnode.metrics-port=-1",
                                  "--qtcnode.rpc-port=0",
                                  "--qtcnode.dns-servers=127.0.0.1:9",
                                  "--scheduler.max-threads=2"};
    args.insert(args.end(), extra.begin(), extra.end());
    process = std::make_unique<test::child_process>(QTCNODE_BINARY, args, dir.path() / "node.log");
    auto starting = process->wait_for_line("msg=starting", 15s);
    REQUIRE_MESSAGE(starting, process->output());
    node_id = test::field_value(*starting, "node_id").value_or("");
    static_key = test::field_value(*starting, "static_key").value_or("");
    REQUIRE_MESSAGE(node_id.size() == 64, *starting);
    REQUIRE_MESSAGE(static_key.size() == 64, *starting);
    auto listening = process->wait_for_line("msg=\"listening for peers\"", 15s);
    REQUIRE_MESSAGE(listening, process->output());
    port =
        static_cast<std::uint16_t>(std::stoi(test::field_value(*listening, "port").value_or("0")));
    REQUIRE(port != 0);
  }
  ~node_under_test() {
    process->signal(SIGTERM);
    process->wait(5s);
  }
  node_under_test(const node_under_test&) = delete;
  node_under_test& operator=(const node_under_test&) = delete;

  /// The first log line containing `needle` (REQUIRE'd), for field_value.
  std::string line(const std::string& needle, std::chrono::milliseconds timeout = 10s) {
    auto l = process->wait_for_line(needle, timeout);
    REQUIRE_MESSAGE(l, process->output());
    return *l;
  }
};

/// `node tests/interop/noble/peer.mjs args...`, output in `<dir>/<name>.out`.
std::unique_ptr<test::child_process> start_peer(const test::temp_dir& dir, const std::string& name,
                                                std::vector<std::string> args) {
  args.insert(args.begin(), {"node", (noble_dir / "peer.mjs").string()});
  return std::make_unique<test::child_process>("/usr/bin/env", args, dir.path() / (name + ".out"));
}

/// A responder peer's node id and listening port (it prints "NODE_ID <hex>" and "PORT <n>"
/// before accepting).
struct responder_address {
  std::string node_id;
  std::string port;
};
responder_address responder_of(test::child_process& peer) {
  auto port = peer.wait_for_line("PORT ", 15s);
  REQUIRE_MESSAGE(port, peer.output());
  auto id = peer.wait_for_line("NODE_ID ", 1s);
  REQUIRE_MESSAGE(id, peer.output());
  return {id->substr(id->find(' ') + 1), port->substr(port->find(' ') + 1)};
}

/// The peer's one JSON result line, once it exited with `expected_exit`.
nlohmann::json peer_result(test::child_process& peer, int expected_exit) {
  auto code = peer.wait(45s);
  REQUIRE_MESSAGE(code, peer.output());
  CHECK_MESSAGE(*code == expected_exit, peer.output());
  std::istringstream lines{peer.output()};
  nlohmann::json result;
  for (std::string line; std::getline(lines, line);)
    if (line.rfind('{', 0) == 0)
      result = nlohmann::json::parse(line, nullptr, false);
  REQUIRE_MESSAGE(result.is_object(), peer.output());
  return result;
}

std::string str(const nlohmann::json& j, const char* key) {
  return j.value(key, std::string{});
}

/// What a successful session reports, checked against the node's own identity and chain.
void check_synced(const nlohmann::json& r, const node_under_test& node, const std::string& tip) {
  CHECK_MESSAGE(r.value("ok", false), r.dump());
  CHECK(str(r, "mode") == "hybrid");
  CHECK(str(r, "node_id") == node.node_id);
  CHECK(str(r, "node_static") == node.static_key);
  CHECK(r.value("headers", -1) == chain_blocks);
  CHECK(str(r, "tip") == tip);
  CHECK(r.value("genesis_rebuilt", false));
  CHECK(r.value("version", 0) == 70015);
  CHECK(r.value("sendaddrv2", false));
  CHECK(str(r, "handshake_hash").size() == 64);
}

/// The node's `peer connected` line names the JS peer by the id the peer computed for itself.
void check_connected_line(node_under_test& node, const nlohmann::json& r, const char* type) {
  auto connected = node.line("msg=\"peer connected\"");
  CHECK(test::field_value(connected, "node_id") == str(r, "our_node_id"));
  CHECK(test::field_value(connected, "static_key") == str(r, "our_static"));
  CHECK(test::field_value(connected, "type") == type);
  CHECK(test::field_value(connected, "transport") == "noise");
  CHECK(test::field_value(connected, "user_agent") == "/noble-interop-peer:1.0/");
}

} // namespace

TEST_SUITE_BEGIN("pq");

TEST_CASE("noble peer: its codec and transport pass their offline checks against the doc") {
  require_noble();
  test::temp_dir dir;
  test::child_process selftest{
      "/usr/bin/env", {"node", (noble_dir / "p2p_selftest.mjs").string()}, dir.path() / "out"};
  CHECK_MESSAGE(selftest.wait(60s) == 0, selftest.output());
  CHECK_MESSAGE(selftest.output().find("all passed") != std::string::npos, selftest.output());
}

TEST_CASE("noble peer: a JavaScript initiator from docs/protocol.md fetches and checks headers") {
  require_noble();
  test::temp_dir dir;
  auto tip = generate_chain(dir.path() / "data", chain_blocks);
  node_under_test node{dir, dir.path() / "data"};
  node.line("msg=\"chain loaded\""); // its version's start_height is then the tip's height
  // Small rekey limits on our side: the node must rekey its receiving cipher as we announced.
  auto peer = start_peer(dir, "initiator",
                         {"--role", "initiator", "--port", std::to_string(node.port),
                          "--expect-headers", std::to_string(chain_blocks), "--pin", node.node_id,
                          "--rekey-messages", "3", "--rekey-bytes", "4096"});
  auto r = peer_result(*peer, 0);
  check_synced(r, node, tip);
  CHECK(str(r, "role") == "initiator");
  CHECK(r["rekeys"].value("sent", 0) >= 2);
  CHECK(r.value("start_height", -1) == chain_blocks);
  check_connected_line(node, r, "inbound");
  auto closed = node.line("msg=\"peer disconnected\"");
  CHECK(test::field_value(closed, "reason") == "peer-closed");
}

TEST_CASE("noble peer: qtcnode dials a JavaScript responder and serves it headers") {
  require_noble();
  test::temp_dir dir;
  auto tip = generate_chain(dir.path() / "data", chain_blocks);
  auto peer = start_peer(dir, "responder",
                         {"--role", "responder", "--expect-headers", std::to_string(chain_blocks)});
  auto responder = responder_of(*peer);
  // Pinned: the node id the node derives from the proof must be the one the peer printed.
  node_under_test node{dir,
                       dir.path() / "data",
                       {"--qtcnode.connect=" + responder.node_id + "@127.0.0.1:" + responder.port}};
  auto r = peer_result(*peer, 0);
  // start_height is not checked here: a node dialling at startup has sent 0 (see the initiator
  // case, which checks it).
  check_synced(r, node, tip);
  CHECK(str(r, "role") == "responder");
  CHECK(str(r, "our_node_id") == responder.node_id);
  check_connected_line(node, r, "manual");
}

TEST_CASE("noble peer: qtcnode pinned to another node id hangs up after the responder's proof") {
  require_noble();
  test::temp_dir dir;
  auto peer = start_peer(dir, "responder", {"--role", "responder"});
  auto responder = responder_of(*peer);
  const std::string other(64, 'a');
  node_under_test node{
      dir, dir.path() / "data", {"--qtcnode.connect=" + other + "@127.0.0.1:" + responder.port}};
  auto r = peer_result(*peer, 1);
  CHECK_FALSE(r.value("ok", true));
  CHECK(str(r, "node_id") == node.node_id); // the node's own proof was sound
  auto closed = node.line("msg=\"peer disconnected\"");
  CHECK(test::field_value(closed, "reason") == "pin-mismatch");
  CHECK_MESSAGE(closed.find(responder.node_id) != std::string::npos, closed);
  CHECK(node.process->output().find("msg=\"peer connected\"") == std::string::npos);
}

TEST_CASE("noble peer: qtcnode refuses a QuantumProof for the wrong role or another session") {
  require_noble();
  struct variant {
    std::string flag;
    std::string detail;
  };
  for (const auto& v :
       {variant{"role", "does not verify"}, variant{"binds", "binds another session"}}) {
    CAPTURE(v.flag);
    test::temp_dir dir; // a node of its own: the offence bans 127.0.0.1
    node_under_test node{dir, dir.path() / "data"};
    auto peer = start_peer(
        dir, "bad-proof",
        {"--role", "initiator", "--port", std::to_string(node.port), "--bad-proof", v.flag});
    auto r = peer_result(*peer, 1);
    CHECK_FALSE(r.value("ok", true));
    // The peer itself verified the node's proof before the node hung up.
    CHECK(str(r, "node_id") == node.node_id);
    CHECK(str(r, "reason") == "peer-closed");
    auto closed = node.line("msg=\"peer disconnected\"");
    CHECK(test::field_value(closed, "reason") == "quantumproof-invalid");
    CHECK_MESSAGE(test::field_value(closed, "detail").value_or("").find(v.detail)
                      != std::string::npos,
                  closed);
    auto banned = node.line("msg=\"address banned\"");
    CHECK(test::field_value(banned, "offence") == "bad-quantumproof");
    CHECK(node.process->output().find("msg=\"peer connected\"") == std::string::npos);
  }
}

TEST_CASE("noble peer: a classical JavaScript initiator gets `00 02 ff 01` from a required node") {
  require_noble();
  test::temp_dir dir;
  node_under_test node{dir, dir.path() / "data"};
  auto peer =
      start_peer(dir, "classical",
                 {"--role", "initiator", "--port", std::to_string(node.port), "--classical"});
  auto r = peer_result(*peer, 1);
  CHECK_FALSE(r.value("ok", true));
  CHECK(str(r, "reason") == "peer_requires_post_quantum");
  CHECK(str(r, "refusal") == "0002ff01");
  auto closed = node.line("msg=\"peer disconnected\"");
  CHECK(test::field_value(closed, "reason") == "transport-failed");
  CHECK_MESSAGE(test::field_value(closed, "detail").value_or("").rfind("peer_not_post_quantum", 0)
                    == 0,
                closed);
  // Frame 1 of the classical mode is 2 + 38 bytes; the refusal one frame of 2 bytes, which the
  // node must write before it closes (the peer's `refusal` above is what it read).
  CHECK(test::field_value(closed, "received") == "40");
  CHECK(test::field_value(closed, "sent") == "4");
}

TEST_CASE(
    "noble peer: a required qtcnode refused by a classical JavaScript responder stays hybrid") {
  require_noble();
  test::temp_dir dir;
  auto peer = start_peer(dir, "classical-responder", {"--role", "responder", "--classical"});
  auto responder = responder_of(*peer);
  node_under_test node{dir, dir.path() / "data", {"--qtcnode.connect=127.0.0.1:" + responder.port}};
  auto r = peer_result(*peer, 1);
  CHECK_FALSE(r.value("ok", true));
  CHECK(str(r, "reason") == "peer_requires_post_quantum"); // we refused its hybrid frame 1
  auto closed = node.line("msg=\"peer disconnected\"");
  CHECK(test::field_value(closed, "reason") == "transport-failed");
  CHECK_MESSAGE(test::field_value(closed, "detail").value_or("").rfind("peer_not_post_quantum", 0)
                    == 0,
                closed);
  CHECK(test::field_value(closed, "sent") == "1224"); // 2 + 1222: the hybrid frame 1
  CHECK(test::field_value(closed, "received") == "4");
  // A `required` node never falls back to classical.
  std::this_thread::sleep_for(1s);
  CHECK(node.process->output().find("retrying in classical mode") == std::string::npos);
}

TEST_SUITE_END();
