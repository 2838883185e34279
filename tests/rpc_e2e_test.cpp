// The JSON-RPC server of a real qtcnode, driven by clients no one here wrote: python-bitcoinlib's
// bitcoin.rpc.RawProxy (tests/interop/bitcoinlib_rpc.py calls every method) and curl with the
// cookie; wrong credentials, malformed JSON, unknown methods, a huge body and too many concurrent
// requests get bitcoind's answers, and the node keeps running and keeps its data.
#include "support/process.hpp"

#include <doctest/doctest.h>

#include <csignal>
#include <fstream>
#include <sstream>
#include <sys/socket.h>

using namespace qtc::test;
using namespace std::chrono_literals;

namespace {

const std::filesystem::path source_dir = QTC_SOURCE_DIR;

std::string read_text(const std::filesystem::path& p) {
  std::ifstream in{p, std::ios::binary};
  return {std::istreambuf_iterator<char>{in}, {}};
}

/// Runs a shell command (curl, python) to completion.
run_result shell(const std::string& command, std::chrono::milliseconds timeout = 60s) {
  return run_to_completion("/bin/sh", {"-c", command}, timeout);
}

/// A curl call of the node's RPC with `user`; prints the body, then the HTTP status on its own
/// last line.
std::string curl(std::uint16_t port, const std::string& user, const std::string& data_option) {
  // bitcoind's documented curl calls name a content type; cpp-httplib caps an
  // application/x-www-form-urlencoded body (curl's default) at 8 KiB (docs/operations.md).
  return "curl -s -S --max-time 30 -H 'Content-Type: application/json' --user '" + user + "' "
         + data_option + " -w '\\n%{http_code}' http://127.0.0.1:" + std::to_string(port) + "/";
}

int status_of(const run_result& r) {
  auto last = r.output.rfind('\n');
  return std::atoi(r.output.c_str() + (last == std::string::npos ? 0 : last + 1));
}

} // namespace

TEST_SUITE("e2e") {

  TEST_CASE("rpc: python-bitcoinlib calls every method, curl with the cookie, bitcoind's errors") {
    temp_dir dir;
    auto data = dir.path() / "data";
    child_process node{
        QTCNODE_BINARY,
        {"--qtcnode.chain-spec=" + (source_dir / "config" / "regtest.toml").string(),
         "--qtcnode.data-dir=" + data.string(), "--qtcnode.p2p-port=-1",
         "--qtcnode.metrics-port=-1", "--qtcnode.rpc-port=-1",
         "--qtcnode.dns-servers=127.0.0.1:" + std::to_string(free_loopback_port(SOCK_DGRAM)),
         // rpcauth for user "alice", password "secret" (salt "c0ffee")
         "--qtcnode.rpc-auth=alice:c0ffee$"
         "0c4c1a87fa16ce0cb0be6571825c8de06d966c5b59347cbec7843347908a67f8"},
        dir.path() / "node.log"};
    auto listening = node.wait_for_line("msg=\"rpc listening\"", 15s);
    REQUIRE(listening);
    auto port = static_cast<std::uint16_t>(std::stoi(*field_value(*listening, "port")));
    REQUIRE(node.wait_for_line("msg=\"node running\"", 15s));
    auto cookie = read_text(data / ".cookie");
    REQUIRE(cookie.rfind("__cookie__:", 0) == 0);
    CHECK(cookie.size() == 11 + 64);
    CHECK((std::filesystem::status(data / ".cookie").permissions() & std::filesystem::perms::all)
          == (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write));
    auto url = "http://" + cookie + "@127.0.0.1:" + std::to_string(port);

    // Every method through bitcoind's own client library.
    auto client =
        shell("/usr/bin/python3 " + (source_dir / "tests/interop/bitcoinlib_rpc.py").string() + " '"
              + url + "'");
    INFO(client.output);
    CHECK(client.exit_code == 0);
    CHECK(client.output.find("0 failed") != std::string::npos);

    // curl with the cookie: JSON-RPC 1.0 and 2.0 shapes.
    auto v2 =
        shell(curl(port, cookie,
                   "--data-binary '{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"getblockcount\"}'"));
    CHECK(status_of(v2) == 200);
    CHECK(v2.output.find("{\"id\":7,\"jsonrpc\":\"2.0\",\"result\":0}") != std::string::npos);
    auto legacy =
        shell(curl(port, cookie, "--data-binary '{\"id\":\"a\",\"method\":\"getblockcount\"}'"));
    CHECK(legacy.output.find("{\"error\":null,\"id\":\"a\",\"result\":0}") != std::string::npos);
    auto batch =
        shell(curl(port, cookie,
                   "--data-binary '[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"uptime\"},"
                   "{\"jsonrpc\":\"2.0\",\"method\":\"ping\"},{\"id\":2,\"method\":\"nope\"}]'"));
    CHECK(status_of(batch) == 200);
    CHECK(batch.output.find("\"code\":-32601") != std::string::npos);
    auto notification =
        shell(curl(port, cookie, "--data-binary '{\"jsonrpc\":\"2.0\",\"method\":\"ping\"}'"));
    CHECK(status_of(notification) == 204);

    // Errors as bitcoind answers them.
    CHECK(status_of(shell(curl(port, "__cookie__:wrong", "--data-binary '{}'"))) == 401);
    CHECK(status_of(shell(curl(port, "alice:wrong", "--data-binary '{}'"))) == 401);
    auto alice =
        shell(curl(port, "alice:secret", "--data-binary '{\"id\":1,\"method\":\"uptime\"}'"));
    CHECK(status_of(alice) == 200);
    auto malformed = shell(curl(port, cookie, "--data-binary '{\"method\":'"));
    CHECK(status_of(malformed) == 500);
    CHECK(malformed.output.find("\"code\":-32700") != std::string::npos);
    auto unknown =
        shell(curl(port, cookie, "--data-binary '{\"id\":1,\"method\":\"dumpwallet\"}'"));
    CHECK(status_of(unknown) == 404);
    CHECK(unknown.output.find("\"code\":-32601,\"message\":\"Method not found\"")
          != std::string::npos);
    auto invalid = shell(curl(port, cookie, "--data-binary '{\"id\":1,\"method\":5}'"));
    CHECK(status_of(invalid) == 400);
    CHECK(invalid.output.find("\"code\":-32600") != std::string::npos);
    auto deep = shell(curl(port, cookie, "--data-binary '" + std::string(100, '[') + "'"));
    CHECK(status_of(deep) == 400);
    CHECK(status_of(shell(curl(port, cookie, "-X GET"))) == 405);
    auto huge = dir.write("huge.json", std::string(17 * 1024 * 1024, ' '));
    CHECK(status_of(shell(curl(port, cookie, "--data-binary @" + huge.string()))) == 413);

    // Too many concurrent requests: 40 clients with a slow batch each; beyond the work queue
    // of 16 the answer is 503 "Work queue depth exceeded", the others are served.
    std::ostringstream slow;
    slow << "[";
    for (int i = 0; i < 1000; ++i)
      slow << (i ? "," : "") << "{\"id\":" << i << ",\"method\":\"getblock\",\"params\":[\""
           << "205b687019cfd7bbb8cb6f3a2e1f363402d308fbf9d28e1bddb112fadd953abc\"]}";
    slow << "]";
    auto slow_file = dir.write("slow.json", slow.str());
    // Each client's status on its own line; a client that got no answer prints 000 (its
    // error message goes to /dev/null, so that it cannot split another client's line).
    auto burst = shell("for i in $(seq 40); do "
                           + curl(port, cookie, "-o /dev/null --data-binary @" + slow_file.string())
                           + " 2>/dev/null & done; wait",
                       120s);
    auto served = 0, refused = 0;
    std::istringstream codes{burst.output};
    for (std::string line; std::getline(codes, line);) {
      served += line == "200";
      refused += line == "503";
    }
    INFO(burst.output);
    CHECK(served + refused == 40);
    CHECK(served >= 16);
    CHECK(refused > 0);

    // The node kept running and its data: stop ends it as SIGTERM does.
    CHECK(node.running());
    auto stop = shell(curl(port, cookie, "--data-binary '{\"id\":1,\"method\":\"stop\"}'"));
    CHECK(stop.output.find("QuantumCoin server stopping") != std::string::npos);
    auto code = node.wait(10s);
    REQUIRE(code);
    CHECK(*code == 0);
    auto log = node.output();
    CHECK(log.find("msg=\"shutdown requested\" signal=SIGTERM") != std::string::npos);
    CHECK(!std::filesystem::exists(data / ".cookie"));
    CHECK(std::filesystem::exists(data / "chain"));
  }
}
