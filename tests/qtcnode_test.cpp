// The qtcnode binary as an operator runs it: real process, real sockets, real signals.
#include "support/process.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <csignal>
#include <fstream>
#include <sstream>
#include <sys/stat.h>

#include <unistd.h>

using namespace qtc::test;
using namespace std::chrono_literals;

namespace {

const std::string qtcnode = QTCNODE_BINARY;
const std::string qtc_inspect = QTC_INSPECT_BINARY;
const std::filesystem::path source_dir = QTC_SOURCE_DIR;

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in{p, std::ios::binary};
  return {std::istreambuf_iterator<char>{in}, {}};
}

/// A config file for a test node in `dir`: free ports, its own data directory.
std::filesystem::path write_config(const temp_dir& dir, const std::string& extra = "") {
  std::ostringstream ini;
  ini << "[qtcnode]\n"
      << "node-name=\"test\"\n"
      << "data-dir=\"data\"\n"
      << "chain-spec=\"" << (source_dir / "config" / "regtest.toml").string() << "\"\n"
      << "p2p-port=-1\n"
      << "metrics-port=0\n"
      << "rpc-port=0\n"
      << "log-level=\"info\"\n"
      << extra << "[scheduler]\nmax-threads=2\n";
  return dir.write("node.ini", ini.str());
}

std::uint16_t port_from(const std::optional<std::string>& line) {
  REQUIRE(line);
  auto port = field_value(*line, "port");
  REQUIRE(port);
  return static_cast<std::uint16_t>(std::stoi(*port));
}

/// A node started from a test config, running once constructed (its ports are known).
struct running_node {
  temp_dir dir;
  std::filesystem::path config;
  child_process process;
  std::uint16_t metrics_port = 0;
  std::uint16_t p2p_port = 0;

  explicit running_node(const std::string& extra_config = "")
      : config(write_config(dir, extra_config)), process{qtcnode,
                                                         {"--config-file=" + config.string()},
                                                         dir.path() / "node.log"} {
    metrics_port = port_from(process.wait_for_line("msg=\"serving metrics\"", 15s));
    p2p_port = port_from(process.wait_for_line("msg=\"listening for peers\"", 15s));
    REQUIRE(process.wait_for_line("msg=\"node running\"", 15s));
  }

  /// Stops the node with `sig` and checks that it exits 0 in time.
  void stop(int sig = SIGTERM) {
    process.signal(sig);
    auto code = process.wait(5s);
    REQUIRE(code);
    CHECK(*code == 0);
  }
};

} // namespace

TEST_SUITE("process") {

  TEST_CASE("qtcnode serves /metrics, accepts on its P2P port and exits 0 on SIGTERM") {
    temp_dir dir;
    auto config = write_config(dir);
    child_process node{qtcnode, {"--config-file=" + config.string()}, dir.path() / "node.log"};
    auto metrics_port = port_from(node.wait_for_line("msg=\"serving metrics\"", 15s));
    auto p2p_port = port_from(node.wait_for_line("msg=\"listening for peers\"", 15s));
    REQUIRE(node.wait_for_line("msg=\"node running\"", 15s));
    // The supervision tree is logged, one line per child.
    auto log = node.output();
    for (auto child : {"root/storage", "root/metrics", "root/security", "root/discovery",
                       "root/nat", "root/sync", "root/peers", "root/inspector"})
      CHECK_MESSAGE(log.find("path=" + std::string{child}) != std::string::npos, child);

    auto response = http_get("127.0.0.1", metrics_port, "/metrics");
    REQUIRE(response);
    CHECK(response->status == 200);
    for (auto family :
         {"quantumcoin_connections_total", "quantumcoin_connections_active",
          "quantumcoin_bytes_sent_total", "quantumcoin_bytes_received_total",
          "quantumcoin_sync_progress", "quantumcoin_latency_avg", "quantumcoin_bandwidth_usage",
          "quantumcoin_build_info", "process_resident_memory_bytes", "process_cpu_seconds_total",
          "process_open_fds"})
      CHECK_MESSAGE(response->body.find(family) != std::string::npos, family);

    // An inbound P2P connection gets a session; one that hangs up inside the transport
    // handshake ends with a typed reason.
    int fd = tcp_connect("127.0.0.1", p2p_port);
    REQUIRE(fd >= 0);
    CHECK(::write(fd, "\x00\x25hello", 7) == 7);
    ::close(fd);
    auto closed = node.wait_for_line("msg=\"peer disconnected\"", 5s);
    REQUIRE(closed);
    CHECK(field_value(*closed, "reason") == "transport-failed");
    CHECK(field_value(*closed, "detail") == "truncated");

    node.signal(SIGTERM);
    auto code = node.wait(5s);
    REQUIRE(code);
    CHECK(*code == 0);
    log = node.output();
    CHECK(log.find("msg=\"shutdown requested\" signal=SIGTERM") != std::string::npos);
    CHECK(log.find("msg=stopped exit_code=0") != std::string::npos);
    // The data directory was created and its lock released.
    CHECK(std::filesystem::exists(dir.path() / "data" / ".lock"));
  }

  TEST_CASE("qtc-inspect attaches to a running node and shows every component") {
    running_node node{"inspector-port=-1\n"};
    auto port = port_from(node.process.wait_for_line("msg=\"inspector listening\"", 15s));
    auto result = run_to_completion(qtc_inspect, {"--port=" + std::to_string(port)});
    CHECK(result.exit_code == 0);
    auto json = nlohmann::json::parse(result.output, nullptr, false);
    REQUIRE_MESSAGE(!json.is_discarded(), result.output);
    CHECK(json["node"] == "test");
    std::vector<std::string> names;
    for (auto& c : json["components"]) {
      names.push_back(c["name"]);
      CHECK(c.contains("state"));
    }
    CHECK(names
          == std::vector<std::string>{"storage", "metrics", "health", "security", "discovery",
                                      "nat", "sync", "peers", "inspector"});
    CHECK(json["components"][7]["state"] == "listening");
    CHECK(json["components"][8]["state"] == "published");
    // Names are values, not paths: a seed's host name stays one key, dots and all.
    const auto& queries = json["components"][4]["queries"];
    CHECK_MESSAGE(queries.contains("seed1.regtest.quantumcoin.test/A"), queries.dump());
    CHECK_FALSE(queries.contains("seed1"));
    // Nothing listens on port 1: a clear error, exit 1.
    auto unreachable = run_to_completion(qtc_inspect, {"--port=1"});
    CHECK(unreachable.exit_code == 1);
    CHECK(unreachable.output.find("cannot attach to 127.0.0.1:1") != std::string::npos);
    node.stop();
  }

  TEST_CASE("qtc-inspect runs the operator's ban commands, bad input is exit 2 or a named error") {
    running_node node{"inspector-port=-1\n"};
    auto port =
        "--port="
        + std::to_string(port_from(node.process.wait_for_line("msg=\"inspector listening\"", 15s)));
    // Actions need the cookie the node wrote to its data directory (data-dir is relative to
    // the config file).
    auto cookie = "--data-dir=" + (node.dir.path() / "data").string();
    auto refused = run_to_completion(qtc_inspect, {port, "ban", "192.0.2.0/24"});
    CHECK(refused.exit_code == 1);
    CHECK(refused.output.find("qtc.unauthorized: inspector: ban needs the cookie")
          != std::string::npos);
    auto ban = run_to_completion(
        qtc_inspect, {port, cookie, "ban", "192.0.2.0/24", "--seconds=600", "--reason=scanner"});
    CHECK_MESSAGE(ban.exit_code == 0, ban.output);
    CHECK(ban.output.find("banned 192.0.2.0/24") != std::string::npos);
    auto list = run_to_completion(qtc_inspect, {port, "bans", "--json"});
    REQUIRE_MESSAGE(list.exit_code == 0, list.output);
    auto json = nlohmann::json::parse(list.output, nullptr, false);
    REQUIRE_MESSAGE(json.is_array(), list.output);
    REQUIRE(json.size() == 1);
    CHECK(json[0]["subnet"] == "192.0.2.0/24");
    CHECK(json[0]["reason"] == "scanner");
    CHECK(json[0]["manual"] == true);
    CHECK(json[0]["seconds-left"].get<std::int64_t>() > 590);
    CHECK(node.process.wait_for_line("msg=\"address banned by the operator\" subnet=192.0.2.0/24",
                                     5s));
    // The node names what is wrong with a subnet; the tool what is wrong with its arguments.
    auto bad = run_to_completion(qtc_inspect, {port, cookie, "ban", "192.0.2.300"});
    CHECK(bad.exit_code == 1);
    CHECK(bad.output.find("not an address or subnet: '192.0.2.300'") != std::string::npos);
    CHECK(run_to_completion(qtc_inspect, {port, "ban"}).exit_code == 2);
    CHECK(run_to_completion(qtc_inspect, {port, cookie, "ban", "::1", "--seconds=-5"}).exit_code
          == 2);
    CHECK(run_to_completion(qtc_inspect, {port, "frobnicate"}).exit_code == 2);
    auto lifted = run_to_completion(qtc_inspect, {port, cookie, "unban", "192.0.2.0/24"});
    CHECK(lifted.exit_code == 0);
    CHECK(lifted.output.find("lifted 192.0.2.0/24") != std::string::npos);
    auto again = run_to_completion(qtc_inspect, {port, cookie, "unban", "192.0.2.0/24"});
    CHECK(again.exit_code == 1);
    CHECK(again.output.find("no ban on 192.0.2.0/24") != std::string::npos);
    CHECK(run_to_completion(qtc_inspect, {port, cookie, "ban", "2001:db8::/32"}).exit_code == 0);
    auto cleared = run_to_completion(qtc_inspect, {port, cookie, "clear-bans"});
    CHECK(cleared.output.find("lifted 1 bans") != std::string::npos);
    CHECK(run_to_completion(qtc_inspect, {port, "bans", "--json"}).output.find("[]")
          != std::string::npos);
    node.stop();
  }

  TEST_CASE("the shipped config/regtest.ini starts the node") {
    // Only the data directory and the ports are overridden, so tests never collide.
    temp_dir dir;
    child_process node{qtcnode,
                       {"--config-file=" + (source_dir / "config" / "regtest.ini").string(),
                        "--qtcnode.data-dir=" + (dir.path() / "data").string(),
                        "--qtcnode.p2p-port=-1", "--qtcnode.metrics-port=0", "--qtcnode.rpc-port=0",
                        "--qtcnode.inspector-port=-1"},
                       dir.path() / "node.log"};
    auto metrics_port = port_from(node.wait_for_line("msg=\"serving metrics\"", 15s));
    REQUIRE(node.wait_for_line("msg=\"node running\" network=regtest", 15s));
    CHECK(node.output().find("node=regtest") != std::string::npos);
    auto response = http_get("127.0.0.1", metrics_port, "/metrics");
    REQUIRE(response);
    CHECK(response->status == 200);
    node.signal(SIGTERM);
    CHECK(node.wait(5s) == 0);
  }

  TEST_CASE("qtcnode exits 0 on SIGINT too") {
    running_node node;
    node.stop(SIGINT);
  }

  TEST_CASE("the node creates its identity key once, mode 0600, and refuses an exposed one") {
    temp_dir dir;
    auto config = write_config(dir);
    auto data = dir.path() / "ident";
    auto start = [&](const std::string& log) {
      child_process node{
          qtcnode,
          {"--config-file=" + config.string(), "--qtcnode.data-dir=" + data.string()},
          dir.path() / log};
      auto line = node.wait_for_line("msg=starting", 15s);
      REQUIRE(line);
      REQUIRE(node.wait_for_line("msg=\"node running\"", 15s));
      node.signal(SIGTERM);
      CHECK(node.wait(5s) == 0);
      return *line;
    };
    auto first = start("first.log");
    auto id = field_value(first, "node_id");
    REQUIRE(id);
    CHECK(id->size() == 64);
    struct stat st;
    REQUIRE(::stat((data / "node.key").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    CHECK(field_value(start("second.log"), "node_id") == id); // the same identity again
    ::chmod((data / "node.key").c_str(), 0640);
    auto refused = run_to_completion(
        qtcnode, {"--config-file=" + config.string(), "--qtcnode.data-dir=" + data.string()});
    CHECK(refused.exit_code == 1);
    CHECK(refused.output.find("node.key: the node key has mode 0640") != std::string::npos);
  }

  TEST_CASE("a second node on the same data directory is refused") {
    running_node first;
    auto second = run_to_completion(qtcnode, {"--config-file=" + first.config.string()});
    CHECK(second.exit_code == 1);
    CHECK(second.output.find("in use by another qtcnode process") != std::string::npos);
    first.stop();
  }

  TEST_CASE("a data directory of another network stops the node with a clear error and exit 1") {
    running_node regtest_node;
    regtest_node.stop(); // its data directory now holds a regtest chain
    auto result = run_to_completion(
        qtcnode, {"--config-file=" + regtest_node.config.string(),
                  "--qtcnode.chain-spec=" + (source_dir / "config" / "mainnet.toml").string(),
                  "--qtcnode.p2p-port=-1"});
    CHECK(result.exit_code == 1);
    CHECK(result.output.find("holds network regtest") != std::string::npos);
    CHECK(result.output.find("not mainnet") != std::string::npos);
    // Nothing was touched: the regtest node starts again on it, with its genesis block stored.
    child_process again{qtcnode,
                        {"--config-file=" + regtest_node.config.string()},
                        regtest_node.dir.path() / "again.log"};
    auto line = again.wait_for_line("msg=\"chain store open\"", 15s);
    REQUIRE(line);
    CHECK(field_value(*line, "blocks") == "1");
    REQUIRE(again.wait_for_line("msg=\"node running\"", 15s));
    again.signal(SIGTERM);
    CHECK(again.wait(5s) == 0);
  }

  TEST_CASE("a port that cannot be bound stops the node with a clear error and exit 1") {
    running_node holder; // its P2P port is taken
    temp_dir other;
    auto taken = std::to_string(holder.p2p_port);
    auto result = run_to_completion(
        qtcnode, {"--config-file=" + write_config(other).string(), "--qtcnode.p2p-port=" + taken});
    CHECK(result.exit_code == 1);
    CHECK(result.output.find("peers: cannot listen on 127.0.0.1:" + taken) != std::string::npos);
    CHECK(result.output.find("node stopped") != std::string::npos);
    holder.stop();
  }

  TEST_CASE("an actor that keeps failing makes the root give up: exit 1 with a clear line") {
    running_node holder; // its metrics port is taken
    // The metrics actor binds inside its own start, so a taken port makes it fail again and again:
    // the root restarts it with backoff until its intensity (5 in 30 s) is exceeded.
    temp_dir other;
    auto taken = std::to_string(holder.metrics_port);
    child_process node{
        qtcnode,
        {"--config-file=" + write_config(other).string(), "--qtcnode.metrics-port=" + taken},
        other.path() / "node.log"};
    auto code = node.wait(20s);
    REQUIRE(code);
    CHECK(*code == 1);
    auto log = node.output();
    CHECK(log.find("msg=\"child restarted\" child=metrics") != std::string::npos);
    CHECK(log.find("msg=\"restart intensity exceeded\" child=metrics max_restarts=5 period=30s")
          != std::string::npos);
    CHECK(log.find(
              "msg=\"node stopped: the supervision tree gave up\" "
              "reason=\"qtc.restart_intensity_exceeded: supervisor root: more than 5 restarts "
              "in 30s; last: child metrics exited with qtc.bind_failed: metrics: cannot listen on "
              "127.0.0.1:"
              + taken)
          != std::string::npos);
    holder.stop();
  }

  TEST_CASE("--help lists every node option") {
    auto result = run_to_completion(qtcnode, {"--help"});
    CHECK(result.exit_code == 0);
    for (auto key : {"data-dir", "chain-spec", "p2p-host", "p2p-port", "metrics-host",
                     "metrics-port", "inspector-host", "inspector-port", "rpc-host", "rpc-port",
                     "rpc-auth", "log-level", "log-file", "node-name", "max-threads"})
      CHECK_MESSAGE(result.output.find(key) != std::string::npos, key);
  }

  TEST_CASE("bad node options exit 2 and name the option") {
    temp_dir dir;
    auto config = write_config(dir);
    auto bad_level = run_to_completion(
        qtcnode, {"--config-file=" + config.string(), "--qtcnode.log-level=loud"});
    CHECK(bad_level.exit_code == 2);
    CHECK(bad_level.output.find("qtcnode.log-level: must be error, warning, info, debug or trace")
          != std::string::npos);
    auto bad_port = run_to_completion(
        qtcnode, {"--config-file=" + config.string(), "--qtcnode.metrics-port=70000"});
    CHECK(bad_port.exit_code == 2);
    CHECK(bad_port.output.find("qtcnode.metrics-port: must be in [-1, 65535], got 70000")
          != std::string::npos);
    auto bad_rpc = run_to_completion(
        qtcnode, {"--config-file=" + config.string(), "--qtcnode.rpc-port=65536",
                  "--qtcnode.rpc-auth=alice:salt$" + std::string(64, 'a') + ",bob:nohmac"});
    CHECK(bad_rpc.exit_code == 2);
    CHECK(bad_rpc.output.find("qtcnode.rpc-port: must be in [-1, 65535], got 65536")
          != std::string::npos);
    CHECK(bad_rpc.output.find("qtcnode.rpc-auth: \"bob:nohmac\": expected user:salt$hmac (as "
                              "share/rpcauth/rpcauth.py prints)")
          != std::string::npos);
    CHECK(bad_rpc.output.find("alice") == std::string::npos); // the valid entry is taken
    auto no_spec =
        run_to_completion(qtcnode, {"--qtcnode.data-dir=" + (dir.path() / "d").string()});
    CHECK(no_spec.exit_code == 2);
    CHECK(no_spec.output.find("qtcnode.chain-spec: missing") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dir.path() / "data"));
    auto bad_peers = run_to_completion(
        qtcnode,
        {"--config-file=" + config.string(), "--qtcnode.connect=127.0.0.1:18444,seed.example:18444",
         "--qtcnode.dns-servers=127.0.0.1,10.0.0.1:53", "--qtcnode.outbound-full-relay=99",
         "--qtcnode.allow=noban@10.0.0.0/8,ban@192.0.2.1,noban@example.org",
         "--qtcnode.detectors=connection-churn:40:400,churn:1:2",
         "--qtcnode.max-upload-target=-5"});
    CHECK(bad_peers.exit_code == 2);
    CHECK(bad_peers.output.find("qtcnode.allow: \"ban@192.0.2.1\": unknown permission \"ban\" "
                                "(noban, relay, download)")
          != std::string::npos);
    CHECK(bad_peers.output.find("qtcnode.detectors: \"churn:1:2\": unknown detector \"churn\"")
          != std::string::npos);
    CHECK(bad_peers.output.find("qtcnode.allow: \"noban@example.org\": \"example.org\" is not an "
                                "address or subnet")
          != std::string::npos);
    CHECK(bad_peers.output.find(
              "qtcnode.connect: \"seed.example:18444\": the host must be an IP address")
          != std::string::npos);
    CHECK(bad_peers.output.find(
              "qtcnode.dns-servers: \"127.0.0.1\": expected ip:port (IPv6 as [v6]:port)")
          != std::string::npos);
    CHECK(bad_peers.output.find("qtcnode.outbound-full-relay: must be in [0, 64], got 99")
          != std::string::npos);
    CHECK(bad_peers.output.find("qtcnode.max-upload-target: must be in [0, 1073741824] MiB, got -5")
          != std::string::npos);
  }

  TEST_CASE("a broken chain spec exits 2 with file:line: key: what, and nothing starts") {
    auto regtest = read_file(source_dir / "config" / "regtest.toml");
    struct mistake {
      const char* what;
      std::string from;
      std::string to;
      std::string expected; // after "<file>:"
    };
    auto line_of = [&](const std::string& needle) {
      auto pos = regtest.find(needle);
      REQUIRE(pos != std::string::npos);
      return std::to_string(1 + std::count(regtest.begin(), regtest.begin() + pos, '\n'));
    };
    std::vector<mistake> mistakes{
        {"wrong type", "default_port = 18444", "default_port = \"18444\"",
         line_of("default_port = 18444") + ": network_protocol.default_port: expected an integer"},
        {"out of range", "default_port = 18444", "default_port = 0",
         line_of("default_port = 18444")
             + ": network_protocol.default_port: must be in [1, 65535], got 0"},
        {"missing key", "max_connections = 125\n", "\n",
         line_of("[network_protocol]") + ": network_protocol.max_connections: missing"},
        {"unknown key", "max_connections = 125\n", "max_connections = 125\nmax_conections = 12\n",
         std::to_string(std::stoi(line_of("max_connections = 125")) + 1)
             + ": network_protocol.max_conections: unknown key"},
        {"bad magic", "magic_bytes = [0x51, 0x54, 0x43, 0x4D]", "magic_bytes = [0x51, 0x54, 0x43]",
         line_of("magic_bytes") + ": network_protocol.magic_bytes: "},
        {"syntax error", "max_connections = 125", "max_connections = = 125",
         line_of("max_connections = 125") + ":"},
        {"genesis that is not the pinned one", "nonce = 1 ", "nonce = 2 ",
         " genesis.hash: the block defined by [genesis] hashes to "},
    };
    for (const auto& m : mistakes) {
      CAPTURE(m.what);
      temp_dir dir;
      auto text = regtest;
      auto pos = text.find(m.from);
      REQUIRE(pos != std::string::npos);
      text.replace(pos, m.from.size(), m.to);
      auto spec = dir.write("broken.toml", text);
      auto data = dir.path() / "data";
      auto result = run_to_completion(
          qtcnode, {"--qtcnode.chain-spec=" + spec.string(), "--qtcnode.data-dir=" + data.string(),
                    "--qtcnode.metrics-port=0", "--qtcnode.rpc-port=0"});
      CHECK(result.exit_code == 2);
      auto expected = spec.string() + ":" + m.expected;
      CHECK_MESSAGE(result.output.find(expected) != std::string::npos, "expected \""
                                                                           << expected << "\" in:\n"
                                                                           << result.output);
      CHECK_FALSE(std::filesystem::exists(data)); // nothing was started
    }
  }

} // TEST_SUITE
