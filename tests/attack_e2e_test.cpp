// The node under attack, end to end: a real qtcnode serving a 10,000-block chain on 127.0.0.1,
// attacked by qtc-attack from other loopback addresses (127.x.y.z, each attack from its own /16)
// while honest nodes sync from it. What is checked is what docs/security.md promises:
//   - floods of pings, unknown commands and invs are throttled at the per-address budget, an
//     honest fresh node's sync under them takes at most 1.5 times its unattacked time, measured
//     in the same test, and an honest peer's pings are answered within 2 s throughout;
//   - peers that ask for 250,000 blocks and never read, and peers that trickle a 4 MB frame,
//     do not slow an honest sync past 1.5 times, hold bounded memory and are cut off: the first
//     banned for getdata-flood and amplification or after 60 s without reading (send-stalled), the
//     second after 60 s (frame-timeout); the node's memory goes back near where it was once they
//     are gone;
//   - silent, version-less and verack-less connections do not slow an honest sync past 1.5
//     times, are cut off after the 10 s handshake timeout and charged slow-handshake, and the
//     slowloris detector fires for their subnet;
//   - every other attack, in two batches each while a fresh node syncs: the sync within 1.5 times
//     its unattacked time, memory bounded, each attacker charged as documented, the honest
//     nodes never;
//   - headers that do not connect and low-work forks from genesis (Core's p2p_dos_header_tree)
//     are never stored; their senders are dropped as header spam and, repeating it, banned, and
//     the bans hold after the node restarts.
#include "support/process.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <fstream>
#include <sstream>
#include <sys/socket.h>
#include <thread>

using namespace qtc::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

const std::string qtcnode = QTCNODE_BINARY;
const std::string chaingen = QTC_CHAINGEN_BINARY;
const std::string attack_tool = QTC_ATTACK_BINARY;
const std::filesystem::path source_dir = QTC_SOURCE_DIR;
const std::string regtest_spec = (source_dir / "config" / "regtest.toml").string();
constexpr int chain_length = 10000;

/// The anonymous resident memory of process `pid` (its heap and stacks; not the chain store's
/// pages, which are the kernel's file cache mapped in), in MiB (0 if it is gone).
double rss_mib(pid_t pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/status"};
  for (std::string line; std::getline(in, line);)
    if (line.rfind("RssAnon:", 0) == 0)
      return std::stod(line.substr(8)) / 1024.0;
  return 0;
}

/// Seconds since midnight from a log line's `ts=...T12:34:56.789Z`.
double log_seconds(const std::string& line) {
  auto at = line.find("ts=");
  REQUIRE(at != std::string::npos);
  auto ts = line.substr(at + 3, 24);
  auto t = ts.find('T');
  REQUIRE(t != std::string::npos);
  return std::stod(ts.substr(t + 1, 2)) * 3600 + std::stod(ts.substr(t + 4, 2)) * 60
         + std::stod(ts.substr(t + 7, 6));
}

/// A qtcnode serving a 10,000-block chain on 127.0.0.1, nobody to dial, DNS dead.
struct serving_node {
  temp_dir dir;
  std::unique_ptr<child_process> process;
  std::uint16_t port = 0;
  std::uint16_t metrics_port = 0; ///< the serving node's Prometheus endpoint
  double peak_mib = 0;            ///< the largest resident size seen by watch()

  serving_node() {
    auto data = dir.path() / "serving";
    auto gen = run_to_completion(chaingen,
                                 {"--chain-spec=" + regtest_spec,
                                  "--blocks=" + std::to_string(chain_length),
                                  "--data-dir=" + data.string()},
                                 300s);
    REQUIRE_MESSAGE(gen.exit_code == 0, gen.output);
    port = free_loopback_port(SOCK_STREAM);
    metrics_port = free_loopback_port(SOCK_STREAM);
    process = std::make_unique<child_process>(qtcnode, node_args("serving", port, {}),
                                              dir.path() / "serving.log");
    REQUIRE_MESSAGE(process->wait_for_line("msg=\"chain loaded\"", 60s), process->output());
  }

  std::vector<std::string> node_args(const std::string& name, std::uint16_t p2p_port,
                                     const std::string& connect) const {
    auto dead_dns = "127.0.0.1:" + std::to_string(free_loopback_port(SOCK_DGRAM));
    std::vector<std::string> args{"--qtcnode.chain-spec=" + regtest_spec,
                                  "--qtcnode.data-dir=" + (dir.path() / name).string(),
                                  "--qtcnode.p2p-host=127.0.0.1",
                                  "--qtcnode.p2p-port=" + std::to_string(p2p_port),
                                  "--qtcnode.metrics-port="
                                      + (name == "serving" ? std::to_string(metrics_port) : "-1"),
                                  "--qtcnode.rpc-port=0",
                                  "--qtcnode.dns-servers=" + dead_dns,
                                  "--qtcnode.outbound-full-relay=0",
                                  "--qtcnode.outbound-block-relay=0",
                                  "--scheduler.max-threads=2"};
    if (!connect.empty())
      args.push_back("--qtcnode.connect=" + connect);
    return args;
  }

  /// A fresh node syncs the whole chain from this one; the seconds from its peer connecting to
  /// its sync completing (by its own log's clock).
  double sync_fresh(const std::string& name) {
    child_process fresh{
        qtcnode,
        node_args(name, free_loopback_port(SOCK_STREAM), "127.0.0.1:" + std::to_string(port)),
        dir.path() / (name + ".log")};
    auto connected = fresh.wait_for_line("msg=\"peer connected\"", 60s);
    REQUIRE_MESSAGE(connected, fresh.output());
    std::optional<std::string> done;
    for (int i = 0; i < 240 && !done; ++i) {
      watch();
      done = fresh.wait_for_line("msg=\"sync complete\"", 500ms);
    }
    REQUIRE_MESSAGE(done, fresh.output());
    CHECK(field_value(*done, "height") == std::to_string(chain_length));
    return log_seconds(*done) - log_seconds(*connected);
  }

  /// The fastest of three fresh nodes' syncs (fresh nodes `name`-a, -b and -c, one after the
  /// other). A sync takes about 1 s on two cores shared by six processes; scheduling noise
  /// (another process's burst, a page fault storm) only ever slows one, by up to a third, so
  /// a ratio of single runs would measure the noise (CI saw 0.77 to 1.05 s unattacked). The best
  /// of three does not hide an attack that slows every sync, which is what the 1.5 bound is about.
  double best_sync(const std::string& name) {
    return std::min({sync_fresh(name + "-a"), sync_fresh(name + "-b"), sync_fresh(name + "-c")});
  }

  /// Stops the node (SIGTERM, as an operator would) and starts it again on the same data
  /// directory and port; the new process's log is `name`.log.
  void restart(const std::string& name) {
    process->signal(SIGTERM);
    auto code = process->wait(30s);
    REQUIRE_MESSAGE(code, process->output());
    CHECK(*code == 0);
    process = std::make_unique<child_process>(qtcnode, node_args("serving", port, {}),
                                              dir.path() / (name + ".log"));
    REQUIRE_MESSAGE(process->wait_for_line("msg=\"chain loaded\"", 60s), process->output());
  }

  /// A counter's value from the serving node's /metrics (0 if absent), e.g.
  /// `quantumcoin_security_offences_total{kind="bad-checksum"}`.
  double metric(const std::string& series) const {
    auto r = http_get("127.0.0.1", metrics_port, "/metrics");
    REQUIRE(r);
    std::istringstream lines{r->body};
    for (std::string line; std::getline(lines, line);)
      if (line.rfind(series + " ", 0) == 0)
        return std::stod(line.substr(series.size() + 1));
    return 0;
  }

  double rss() const {
    return rss_mib(process->pid());
  }

  /// Samples the resident size into peak_mib.
  void watch() {
    peak_mib = std::max(peak_mib, rss());
  }

  std::string target() const {
    return "--target=127.0.0.1:" + std::to_string(port);
  }
};

/// One qtc-attack run in the background; report() waits for it and parses its JSON.
struct attacker {
  std::unique_ptr<child_process> process;
  std::filesystem::path out;

  attacker(const serving_node& node, const std::string& name, int subnet, int sources,
           std::vector<std::string> more) {
    out = node.dir.path() / (name + "-" + std::to_string(subnet) + ".out");
    std::vector<std::string> args{node.target(), "--chain-spec=" + regtest_spec, "--attack=" + name,
                                  "--first-subnet=" + std::to_string(subnet),
                                  "--sources=" + std::to_string(sources)};
    args.insert(args.end(), more.begin(), more.end());
    // At the lowest CPU priority: a real attacker's sending costs its own machine, not ours. On
    // the test's two cores an attacker at equal priority takes CPU from the honest syncing node
    // that the serving node's throttling cannot give back (CI measured 1.7 times a sync's time
    // that way), which is not the property under test; what the node itself spends reading,
    // rating and dropping the floods still counts.
    args.insert(args.begin(), {"-n", "19", attack_tool});
    process = std::make_unique<child_process>("/usr/bin/nice", args, out);
  }

  /// The aggregate of the JSON report, once the tool has exited (within `limit`).
  json report(std::chrono::seconds limit) {
    auto code = process->wait(limit);
    REQUIRE_MESSAGE(code, process->output());
    REQUIRE_MESSAGE(*code == 0, process->output());
    std::istringstream lines{process->output()};
    json r;
    for (std::string line; std::getline(lines, line);)
      if (!line.empty() && line.front() == '{')
        r = json::parse(line, nullptr, false);
    REQUIRE_MESSAGE(r.is_object(), process->output());
    MESSAGE(r.at("attack").get<std::string>() << ": " << r.at("aggregate").dump());
    return r.at("aggregate");
  }
};

/// How often `needle` occurs in `log`.
std::size_t occurrences(const std::string& log, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = log.find(needle); at != std::string::npos; at = log.find(needle, at + 1))
    ++n;
  return n;
}

std::uint64_t count(const json& aggregate, const std::string& map, const std::string& key) {
  const auto& m = aggregate.at(map);
  return m.contains(key) ? m.at(key).get<std::uint64_t>() : 0;
}

} // namespace

TEST_SUITE("security") {

  TEST_CASE("e2e security: floods are throttled at the address budget and an honest sync under "
            "them takes at most 1.5 times its unattacked time") {
    serving_node node;
    auto before = node.rss();
    auto unattacked = node.best_sync("fresh0");
    // 8 addresses each: 100 pings a second, 100 unknown commands a second, 2 invs of 50,000
    // entries a second (1.8 MB each: more than a minute's byte budget).
    attacker pings{node, "ping-flood", 11, 8, {"--rate=100", "--duration=16"}};
    attacker unknown{node, "unknown-flood", 21, 8, {"--rate=100", "--duration=16"}};
    attacker invs{node, "inv-flood", 31, 8, {"--rate=2", "--duration=16"}};
    // An honest peer pinging once a second from another address (within its budget).
    attacker pinger{node, "ping-flood", 41, 1, {"--rate=1", "--duration=16"}};
    std::this_thread::sleep_for(2s);
    auto attacked = node.best_sync("fresh1");
    MESSAGE("honest sync: " << unattacked << " s unattacked, " << attacked << " s attacked");
    CHECK(attacked <= 1.5 * unattacked);

    // Each address's budget is 100 messages and 1 MB a minute: over the 16 s, at most the
    // first minute's 100 plus 16 s of refill (27) messages each were read.
    auto p = pings.report(60s);
    CHECK(count(p, "sent", "ping") > 3 * count(p, "received", "pong"));
    CHECK(count(p, "received", "pong") <= 8 * 127);
    auto u = unknown.report(60s);
    CHECK(count(u, "sent", "qtc-attack") > 3 * 8 * 127);
    auto i = invs.report(60s);
    CHECK(count(i, "sent", "inv") >= 8);
    // Core's p2p_invalid_messages: while others send junk, a peer's pings are answered in 2 s.
    auto honest = pinger.report(60s);
    CHECK(count(honest, "attack_counters", "pongs_timed") >= 14);
    CHECK(count(honest, "attack_counters", "pongs_after_2s") == 0);
    node.watch();
    MESSAGE("serving node RSS: " << before << " MiB before, peak " << node.peak_mib << " MiB");
    CHECK(node.peak_mib < before + 150);
    CHECK(node.process->running());
  }

  TEST_CASE("e2e security: peers that ask and never read, or trickle a frame, hold bounded "
            "memory, are cut off after 60 s, and the memory goes back") {
    serving_node node;
    auto unattacked = node.best_sync("fresh0");
    auto before = node.rss();
    // 8 addresses ask for 5 x 50,000 blocks each and never read; 8 hold 3,999,000 bytes of a
    // 4,000,000-byte frame.
    attacker readers{
        node, "getdata-nonreader", 41, 8, {"--bursts=5", "--items=50000", "--duration=75"}};
    attacker tricklers{node, "partial-frame", 51, 8, {"--bytes=3999000", "--duration=75"}};
    // Once they hold what they can, an honest node syncs.
    std::this_thread::sleep_for(5s);
    auto attacked = node.best_sync("fresh1");
    MESSAGE("honest sync: " << unattacked << " s unattacked, " << attacked << " s attacked");
    CHECK(attacked <= 1.5 * unattacked);
    for (int i = 0; i < 160 && (readers.process->running() || tricklers.process->running()); ++i) {
      node.watch();
      std::this_thread::sleep_for(500ms);
    }
    auto r = readers.report(30s);
    auto t = tricklers.report(30s);
    // The non-readers only learn of the close when they read at the end; the node's log says
    // when and why.
    CHECK(r.at("closed_by_node").get<std::uint64_t>() == 8);
    CHECK(t.at("closed_by_node").get<std::uint64_t>() == 8);
    CHECK(t.at("closed_by_node_seconds").at("max").get<double>() <= 66);
    CHECK(t.at("closed_by_node_seconds").at("min").get<double>() >= 59);
    auto log = node.process->output();
    auto lines_with = [&](const std::string& needle) { return occurrences(log, needle); };
    // The non-readers overflow their serving queue (getdata-flood, 50) and, being served
    // blocks they had asked for already, amplification (50): banned, or cut for not reading.
    CHECK(lines_with("offence=getdata-flood") >= 1);
    CHECK(lines_with("reason=send-stalled") + lines_with("detail=\"address banned\"") == 8);
    CHECK(lines_with("reason=frame-timeout") == 8);
    // Per attacker at most the serving pace's 4 MiB plus one answer, or one 4 MB frame, plus
    // buffers: 16 attackers, well under 16 MiB each.
    MESSAGE("serving node RSS: " << before << " MiB before, peak " << node.peak_mib << " MiB");
    CHECK(node.peak_mib < before + 16 * 16);
    // Gone: within the peer manager's next release of free memory (10 s) it is back near the
    // start.
    std::this_thread::sleep_for(12s);
    auto after = node.rss();
    MESSAGE("serving node RSS after: " << after << " MiB");
    CHECK(after < before + 40);
  }

  TEST_CASE("e2e security: slowloris connections are cut off at the 10 s handshake timeout and "
            "charged slow-handshake, the slowloris detector fires for their subnet") {
    serving_node node;
    auto unattacked = node.best_sync("fresh0");
    attacker silent{node, "silent", 61, 10, {"--duration=14"}};
    attacker no_verack{node, "no-verack", 62, 4, {"--duration=14"}};
    attacker dripping{node, "slow-version", 63, 4, {"--duration=14", "--interval-ms=2000"}};
    // An honest node syncs while they hold their connections.
    std::this_thread::sleep_for(2s);
    auto attacked = node.best_sync("fresh1");
    MESSAGE("honest sync: " << unattacked << " s unattacked, " << attacked << " s attacked");
    CHECK(attacked <= 1.5 * unattacked);
    for (auto* a : {&silent, &no_verack, &dripping}) {
      auto r = a->report(40s);
      CHECK(r.at("closed_by_node").get<std::uint64_t>() == r.at("transport_handshakes"));
      CHECK(r.at("closed_by_node_seconds").at("max").get<double>() <= 12);
      CHECK(r.at("closed_by_node_seconds").at("min").get<double>() >= 9);
    }
    auto log = node.process->output();
    CHECK(log.find("offence=slow-handshake") != std::string::npos);
    CHECK(log.find("detector slowloris") != std::string::npos);
  }

  TEST_CASE("e2e security: header spam and low-work forks are never stored, their senders are "
            "dropped, banned when they repeat it, and the bans hold after a restart") {
    serving_node node;
    // Four addresses (one per /16, so that no subnet limit or subnet ban is involved), three
    // connections each: forks of 1,000 valid headers from genesis (far
    // below the 10,000-block chain's work), five a second; then three more connections each
    // with headers that do not connect. Each connection is dropped after ten messages and
    // charged header-spam (20): six charges ban the address (100).
    attacker forks{node,
                   "low-work-headers",
                   71,
                   4,
                   {"--subnets=4", "--connections=3", "--rate=5", "--items=1000", "--duration=6"}};
    auto f = forks.report(60s);
    CHECK(count(f, "sent", "headers") >= 4 * 3 * 11);
    CHECK(f.at("closed_by_node").get<std::uint64_t>() == 12);
    attacker spam{node,
                  "header-spam",
                  71,
                  4,
                  {"--subnets=4", "--connections=3", "--rate=5", "--items=50", "--duration=6"}};
    auto s = spam.report(60s);
    CHECK(s.at("closed_by_node").get<std::uint64_t>() == 12);
    auto log = node.process->output();
    auto lines_with = [&](const std::string& needle) { return occurrences(log, needle); };
    CHECK(lines_with("too many low-work headers messages") >= 12);
    // The fifth charge bans the address, and its connections still open are closed with it.
    CHECK(lines_with("too many headers messages that do not connect") >= 8);
    CHECK(lines_with("msg=\"address banned\"") == 4);
    // An honest node syncs from it all the same.
    CHECK(node.sync_fresh("fresh") > 0);

    // Restarted: nothing of the forks was stored (the tree holds the chain's headers alone),
    // and the four addresses are still refused.
    node.restart("serving-2");
    auto loaded = node.process->wait_for_line("msg=\"chain loaded\"", 1s);
    REQUIRE(loaded);
    CHECK(field_value(*loaded, "known-headers") == std::to_string(chain_length + 1));
    auto bans = node.process->wait_for_line("msg=\"ban list loaded\"", 10s);
    REQUIRE_MESSAGE(bans, node.process->output());
    CHECK(field_value(*bans, "bans") == "4");
    attacker again{
        node, "header-spam", 71, 4, {"--subnets=4", "--rate=5", "--items=1", "--duration=3"}};
    auto a = again.report(60s);
    CHECK(a.at("refused").get<std::uint64_t>() >= 4);
    CHECK(a.at("version_handshakes").get<std::uint64_t>() == 0);
    CHECK(count(a, "sent", "headers") == 0);
  }

  TEST_CASE("e2e security: the other attacks, in two batches, each while an honest node syncs: "
            "the sync within 1.5 times its unattacked time, every attacker charged as "
            "documented, no honest peer") {
    serving_node node;
    auto before = node.rss();
    auto unattacked = node.best_sync("fresh0");
    struct batch {
      std::vector<std::pair<std::string, std::vector<std::string>>> attacks;
      std::vector<std::string> charged; ///< the metric series each must have moved
    };
    const std::string offences = "quantumcoin_security_offences_total{kind=\"";
    const std::string detections = "quantumcoin_security_detections_total{detector=\"";
    std::vector<batch> batches{
        {{{"getheaders-flood", {"--rate=50"}},
          // 500 blocks asked for twice: 500 repeats, far past the 16 that are amplification
          // (more only adds serving work that competes with the honest sync on two cores).
          {"getdata-amplify", {"--items=500", "--bursts=2"}},
          {"bad-checksum", {"--rate=20"}},
          {"addr-flood", {"--rate=5"}}},
         {offences + "getdata-amplification\"}", offences + "bad-checksum\"}",
          offences + "addr-flood\"}"}},
        {{{"junk-handshake", {}},
          {"connection-churn", {"--rate=5"}},
          {"shared-identity", {}},
          {"header-spam", {"--rate=10", "--items=20"}},
          {"low-work-headers", {"--rate=10", "--items=500"}}},
         {offences + "handshake-failure\"}", detections + "connection-churn\"}",
          detections + "shared-identity\"}", offences + "header-spam\"}"}},
    };
    int subnet = 101;
    for (std::size_t k = 0; k < batches.size(); ++k) {
      std::vector<std::unique_ptr<attacker>> running;
      for (const auto& [name, args] : batches[k].attacks) {
        auto more = args;
        more.push_back("--duration=12");
        running.push_back(std::make_unique<attacker>(node, name, subnet++, 4, more));
      }
      std::this_thread::sleep_for(2s);
      auto attacked = node.best_sync("fresh" + std::to_string(k + 1));
      MESSAGE("batch " << k + 1 << ": honest sync " << unattacked << " s unattacked, " << attacked
                       << " s attacked");
      CHECK(attacked <= 1.5 * unattacked);
      for (auto& a : running)
        a->report(60s);
      node.watch();
      for (const auto& series : batches[k].charged)
        CHECK_MESSAGE(node.metric(series) >= 1, series);
      // The honest nodes connect from 127.0.0.1: never banned or warned about (offences below a
      // warning are debug lines: the metrics above count them).
      CHECK(node.process->output().find("ip=127.0.0.1 ") == std::string::npos);
    }
    // The reputation distribution covers every tracked address.
    double bucketed = 0;
    for (const char* below : {"1", "10", "20", "50", "75", "100", "+Inf"})
      bucketed += node.metric(std::string{"quantumcoin_security_reputation_addresses{below=\""}
                              + below + "\"}");
    auto tracked = node.metric("quantumcoin_security_tracked_addresses");
    CHECK(tracked >= 1);
    CHECK(bucketed == tracked);
    MESSAGE("serving node RSS: " << before << " MiB before, peak " << node.peak_mib << " MiB");
    CHECK(node.peak_mib < before + 150);
    CHECK(node.process->running());
  }
}
