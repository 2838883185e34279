// qtc-inspect as an operator uses it, against a real qtcnode that syncs from DNS-found peers
// (the e2e network of tests/support/e2e_network.hpp): `top` runs under tmux and its screen is
// read; `tree`, `peers`, `sync`, `bans`, `log` and `log --follow` show the node; the actions
// take effect — `restart sync` in the middle of a sync (the supervisor restarts it, its restart
// count moves, the node still completes the sync), `disconnect` closes the peer's session, `ban`
// and `unban`; actions without the cookie are refused and counted in the metrics, and an
// inspector on a non-loopback address refuses reads without it too.
#include "messages/interfaces.hpp"
#include "runtime/config/node_options.hpp"
#include "support/e2e_network.hpp"

#include <caf/actor_system.hpp>
#include <caf/io/middleman.hpp>
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <thread>

using namespace qtc::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

const std::string qtc_inspect = QTC_INSPECT_BINARY;
const std::string tmux = "/usr/bin/tmux";

/// The inspector port a node logged.
std::uint16_t inspector_port(child_process& node) {
  auto line = node.wait_for_line("msg=\"inspector listening\"", 30s);
  REQUIRE_MESSAGE(line, node.output());
  return static_cast<std::uint16_t>(std::stoi(*field_value(*line, "port")));
}

/// qtc-inspect with these arguments against the node's inspector.
run_result inspect(std::uint16_t port, std::vector<std::string> args) {
  args.insert(args.begin(), "--port=" + std::to_string(port));
  return run_to_completion(qtc_inspect, args, 30s);
}

json inspect_json(std::uint16_t port, std::vector<std::string> args) {
  args.push_back("--json");
  auto r = inspect(port, std::move(args));
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  auto j = json::parse(r.output, nullptr, false);
  REQUIRE_MESSAGE(!j.is_discarded(), r.output);
  return j;
}

/// A tmux server of its own (its socket in the test's directory), so the test touches no
/// other session; killed with the test.
struct tmux_server {
  std::filesystem::path socket;
  ~tmux_server() {
    run_to_completion(tmux, {"-S", socket.string(), "kill-server"}, 10s);
  }
  run_result run(std::vector<std::string> args) const {
    args.insert(args.begin(), {"-S", socket.string()});
    return run_to_completion(tmux, args, 10s);
  }
  std::string screen() const {
    return run({"capture-pane", "-p", "-t", "top"}).output;
  }
  /// Polls the screen until it contains every needle (up to `limit`); the last screen.
  std::string wait_for(const std::vector<std::string>& needles, std::chrono::seconds limit) const {
    std::string text;
    auto until = std::chrono::steady_clock::now() + limit;
    do {
      text = screen();
      bool all = true;
      for (const auto& n : needles)
        all = all && text.find(n) != std::string::npos;
      if (all)
        return text;
      std::this_thread::sleep_for(200ms);
    } while (std::chrono::steady_clock::now() < until);
    return text;
  }
};

/// A metrics sample's value from a scrape, or -1.
double metric(std::uint16_t port, const std::string& series) {
  auto r = http_get("127.0.0.1", port, "/metrics");
  REQUIRE(r);
  auto at = r->body.find("\n" + series + " ");
  if (at == std::string::npos)
    return -1;
  return std::stod(r->body.substr(at + series.size() + 2));
}

} // namespace

TEST_SUITE("e2e") {

  TEST_CASE("e2e inspect: restart of the sync coordinator mid-sync, tree, top under tmux, "
            "peers, log, disconnect, bans and the cookie") {
    e2e_network net{75};
    net.start_dns();
    net.start_serving();
    net.start_fresh(net.dns_server(), {"--qtcnode.inspector-port=-1", "--qtcnode.metrics-port=0"});
    auto port = inspector_port(*net.fresh);
    auto metrics_line = net.fresh->wait_for_line("msg=\"serving metrics\"", 30s);
    REQUIRE(metrics_line);
    auto metrics_port = static_cast<std::uint16_t>(std::stoi(*field_value(*metrics_line, "port")));
    auto data = net.dir.path() / "fresh";
    auto cookie_file = data / ".inspect-cookie";
    REQUIRE(std::filesystem::exists(cookie_file));
    CHECK(read_text(cookie_file).size() == 64);
    CHECK((std::filesystem::status(cookie_file).permissions() & std::filesystem::perms::all)
          == (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write));
    auto with_cookie = "--data-dir=" + data.string();

    // Mid-sync: the serving nodes pause, the operator restarts the sync coordinator, they go on.
    REQUIRE_MESSAGE(net.fresh->wait_for_line("msg=\"sync progress\" headers=10000", 90s),
                    net.fresh->output());
    for (auto& s : net.serving)
      s->signal(SIGSTOP);
    REQUIRE(net.fresh->output().find("msg=\"sync complete\"") == std::string::npos);
    auto refused = inspect(port, {"restart", "sync"});
    CHECK(refused.exit_code == 1);
    CHECK(refused.output.find("qtc.unauthorized") != std::string::npos);
    auto restart = inspect(port, {with_cookie, "restart", "sync"});
    CHECK_MESSAGE(restart.exit_code == 0, restart.output);
    CHECK(restart.output.find("restarting sync (restarts before: 0)") != std::string::npos);
    CHECK(net.fresh->wait_for_line("msg=\"child restarted\" child=sync restarts=1", 10s));
    for (auto& s : net.serving)
      s->signal(SIGCONT);
    net.expect_synced();

    // tree: the restart counted, every child running, the sessions listed by peer.
    auto tree = inspect(port, {"tree"});
    INFO(tree.output);
    CHECK(tree.exit_code == 0);
    CHECK(tree.output.find("├── sync          running           1") != std::string::npos);
    CHECK(tree.output.find("├── peers         running           0") != std::string::npos);
    CHECK(tree.output.find(net.ip(11) + ":18444 outbound") != std::string::npos);
    auto tree_json = inspect_json(port, {"tree"});
    CHECK(tree_json["sessions"].size() >= 1);
    for (const auto& c : tree_json["components"])
      CHECK_MESSAGE(c.contains("actor"), c.dump());

    // top under tmux, as a person runs it: the actors, the sessions and the peers on screen.
    tmux_server t{net.dir.path() / "tmux.sock"};
    auto started = t.run({"new-session", "-d", "-s", "top", "-x", "200", "-y", "80",
                          qtc_inspect + " --port=" + std::to_string(port) + " top --interval=0.5"});
    REQUIRE_MESSAGE(started.exit_code == 0, started.output);
    auto screen = t.wait_for({"ACTORS by mailbox", "peer_manager", "peer_session", "sync", "PEERS",
                              net.ip(11) + ":18444", "synced: blocks 10000"},
                             20s);
    INFO(screen);
    CHECK(screen.find("ACTORS by mailbox") != std::string::npos);
    CHECK(screen.find("peer_session #") != std::string::npos);
    CHECK(screen.find(net.ip(11) + ":18444") != std::string::npos);
    CHECK(screen.find("synced: blocks 10000 / target 10000") != std::string::npos);
    t.run({"send-keys", "-t", "top", "n"});
    CHECK(t.wait_for({"ACTORS by name"}, 10s).find("ACTORS by name") != std::string::npos);
    t.run({"send-keys", "-t", "top", "q"});
    auto gone = false;
    for (int i = 0; i < 50 && !gone; ++i) {
      gone = t.run({"has-session", "-t", "top"}).exit_code != 0;
      std::this_thread::sleep_for(100ms);
    }
    CHECK_MESSAGE(gone, "top did not quit on q");

    // top --json: one snapshot for scripts, every metered actor in it.
    auto snapshot = inspect_json(port, {"top"});
    CHECK(snapshot["actors"].size() >= 10);
    CHECK(snapshot["sync"]["blocks"] == 10000);

    // peers and sync, as tables and as JSON.
    auto peers = inspect_json(port, {"peers"});
    REQUIRE(peers.is_array());
    REQUIRE(!peers.empty());
    std::string victim;
    for (const auto& p : peers)
      if (p["state"] == "ready" && p["type"] != "feeler")
        victim = p["remote"];
    REQUIRE(!victim.empty());
    CHECK(inspect(port, {"peers"}).output.find(victim) != std::string::npos);
    CHECK(inspect(port, {"sync"}).output.find("sync synced: blocks 10000") != std::string::npos);

    // disconnect of something that is no session: exit 1, the inspector stays.
    CHECK(inspect(port, {with_cookie, "disconnect", std::string(40, '9')}).exit_code == 1);
    CHECK(inspect(port, {with_cookie, "disconnect", "not-an-address"}).exit_code == 1);

    // disconnect: the peer's session really closes.
    auto disconnect = inspect(port, {with_cookie, "disconnect", victim});
    CHECK_MESSAGE(disconnect.exit_code == 0, disconnect.output);
    CHECK(net.fresh->wait_for_line("disconnected by the operator", 10s));
    CHECK(!net.lines_with("remote=" + victim, "disconnected by the operator").empty());

    // bans through the inspector.
    CHECK(inspect(port, {with_cookie, "ban", "192.0.2.0/24", "--seconds=600", "--reason=test"})
              .exit_code
          == 0);
    auto bans = inspect_json(port, {"bans"});
    REQUIRE(bans.size() == 1);
    CHECK(bans[0]["subnet"] == "192.0.2.0/24");
    CHECK(inspect(port, {with_cookie, "unban", "192.0.2.0/24"}).exit_code == 0);
    CHECK(inspect_json(port, {"bans"}).empty());

    // log: the latest lines by actor; --follow prints what happens next.
    auto log = inspect(port, {"log", "--actor=supervisor"});
    CHECK(log.output.find("msg=\"child restarted\" child=sync") != std::string::npos);
    CHECK(log.output.find("actor=peer ") == std::string::npos);
    child_process follower{qtc_inspect,
                           {"--port=" + std::to_string(port), "log", "--follow",
                            "--actor=inspector", "--level=warning"},
                           net.dir.path() / "follow.log"};
    std::this_thread::sleep_for(1s); // subscribed
    CHECK(inspect(port, {"--cookie-file=/dev/null", "clear-bans"}).exit_code == 1);
    CHECK(follower.wait_for_line("msg=\"inspector request refused\" request=clear-bans", 10s));
    follower.signal(SIGINT);
    CHECK(follower.wait(5s) == 0);

    // Three refusals, all counted; the node still syncs nothing wrong.
    CHECK(metric(metrics_port, "quantumcoin_inspector_refusals_total{request=\"action\"}") == 2);
    CHECK(metric(metrics_port, "quantumcoin_actor_mailbox_depth{actor=\"sync\"}") >= 0);
    net.fresh->signal(SIGTERM);
    auto code = net.fresh->wait(15s);
    CHECK_MESSAGE(code == 0, net.fresh->output().substr(net.fresh->output().size() > 6000
                                                            ? net.fresh->output().size() - 6000
                                                            : 0));
    CHECK(!std::filesystem::exists(cookie_file));
  }
}

TEST_SUITE("process") {

  TEST_CASE("inspect: an inspector on a non-loopback address refuses reads without the cookie") {
    temp_dir dir;
    auto data = dir.path() / "data";
    child_process node{
        qtcnode,
        {"--qtcnode.chain-spec=" + (source_dir / "config" / "regtest.toml").string(),
         "--qtcnode.data-dir=" + data.string(), "--qtcnode.p2p-port=-1",
         "--qtcnode.metrics-port=-1", "--qtcnode.rpc-port=0", "--qtcnode.inspector-port=-1",
         // every address: the test still only talks to 127.0.0.1
         "--qtcnode.inspector-host=0.0.0.0",
         "--qtcnode.dns-servers=127.0.0.1:" + std::to_string(free_loopback_port(SOCK_DGRAM))},
        dir.path() / "node.log"};
    auto port = inspector_port(node);
    auto refused = inspect(port, {"tree"});
    CHECK(refused.exit_code == 1);
    CHECK(refused.output.find("qtc.unauthorized") != std::string::npos);
    auto wrong = dir.write("wrong-cookie", std::string(64, 'a'));
    CHECK(inspect(port, {"--cookie-file=" + wrong.string(), "tree"}).exit_code == 1);
    auto allowed = inspect(port, {"--data-dir=" + data.string(), "tree"});
    CHECK_MESSAGE(allowed.exit_code == 0, allowed.output);
    CHECK(allowed.output.find("└── inspector") != std::string::npos);
    CHECK(node.output().find("msg=\"inspector request refused\" request=tree reason=\"no cookie\"")
          != std::string::npos);
    CHECK(node.output().find("request=tree reason=\"wrong cookie\"") != std::string::npos);

    // CAF's remoting lets a peer look up the actors a node registered by name and message them
    // past the inspector: the node registers none (the log sink and the metrics actor are in
    // its config's service host instead).
    qtc::node_config cfg;
    cfg.load<caf::io::middleman>();
    cfg.set("logger.console", caf::atom("none"));
    caf::actor_system sys{cfg};
    auto attached = sys.middleman().remote_actor<qtc::inspector_actor>("127.0.0.1", port);
    REQUIRE(attached);
    // The lookup works: CAF's own spawn server is found that way (so the checks below can fail).
    CHECK(sys.middleman().remote_lookup(caf::atom("SpawnServ"), attached->node()) != nullptr);
    for (auto name :
         {caf::atom("qtclog"), caf::atom("qtcmetric"), caf::atom("metrics"), caf::atom("log_sink")})
      CHECK_MESSAGE(sys.middleman().remote_lookup(name, attached->node()) == nullptr,
                    caf::to_string(name));
  }
}
