// qtc-sim, the whole-network simulator, run as operators run it: each shipped scenario
// (config/sim/) in a process of its own, its JSON report read back and checked against what the
// scenario promises; the same seed twice gives the same report byte for byte, another seed a
// different one; a bad scenario file is refused naming file, line and key.
#include "support/process.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

using namespace qtc::test;
using nlohmann::json;

namespace {

const std::filesystem::path source_dir = QTC_SOURCE_DIR;

std::string slurp(const std::filesystem::path& file) {
  std::ifstream in{file};
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

/// Runs the scenario in `file` with its report in `report`; returns the report's text.
std::string run_file(const std::filesystem::path& file, const std::filesystem::path& report,
                     const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args{"--scenario=" + file.string(), "--report=" + report.string(),
                                "--quiet"};
  args.insert(args.end(), extra.begin(), extra.end());
  auto r = run_to_completion(QTC_SIM_BINARY, args, std::chrono::seconds{110});
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  return slurp(report);
}

/// Runs a shipped scenario; returns the report's text.
std::string run_scenario(const std::string& name, const temp_dir& dir,
                         const std::vector<std::string>& extra = {}) {
  return run_file(source_dir / "config/sim" / (name + ".toml"),
                  dir.path() / (name + std::to_string(extra.size()) + ".json"), extra);
}

using edits = std::vector<std::pair<std::string, std::string>>;

/// The propagation scenario with each edit's first text replaced by its second, run from `dir`;
/// the report.
json run_propagation_edited(const temp_dir& dir, const std::string& name, const edits& changes) {
  auto text = slurp(source_dir / "config/sim/propagation.toml");
  auto replace = [&](const std::string& from, const std::string& to) {
    auto at = text.find(from);
    REQUIRE(at != std::string::npos);
    text.replace(at, from.size(), to);
  };
  for (const auto& [from, to] : changes)
    replace(from, to);
  replace("\"../regtest.toml\"", "\"" + (source_dir / "config/regtest.toml").string() + "\"");
  auto file = dir.path() / (name + ".toml");
  std::ofstream{file} << text;
  return json::parse(run_file(file, dir.path() / (name + ".json")));
}

/// The propagation scenario with its `bandwidth_kbit = 20000` line replaced by `links`.
json run_propagation_with(const temp_dir& dir, const std::string& name, const std::string& links) {
  return run_propagation_edited(dir, name, {{"bandwidth_kbit = 20000", links}});
}

/// The last peer-graph sample.
const json& last_sample(const json& report) {
  return report.at("peer_graph").back();
}

} // namespace

TEST_SUITE("sim") {

  TEST_CASE("qtc-sim propagation: every node syncs, every mined block reaches every node") {
    temp_dir dir;
    auto report = json::parse(run_scenario("propagation", dir));
    const auto& sync = report.at("sync");
    CHECK(sync.at("time_to_sync_ms").at("count") == sync.at("fresh_started"));
    CHECK(sync.at("fresh_started") == 36);
    const auto& prop = report.at("propagation");
    REQUIRE(prop.at("blocks").size() == 5);
    for (const auto& b : prop.at("blocks")) {
      CHECK(b.at("count") == b.at("nodes")); // reached every node that was there
      CHECK(b.at("p50") > 0);
      CHECK(b.at("p50") <= b.at("p90"));
      CHECK(b.at("p90") <= b.at("p99"));
    }
    const auto& conv = report.at("convergence");
    CHECK(conv.at("converged") == true);
    CHECK(conv.at("best_height") == 105);
    CHECK(last_sample(report).at("components") == 1);
    // Every node sent and received: the traffic table names the handshake and the sync.
    for (const auto* command : {"version", "quantumproof", "headers", "block", "cmpctblock"})
      CHECK_MESSAGE(report.at("traffic_sent_by_command").at(command).at("messages") > 0, command);
  }

  TEST_CASE("qtc-sim partition: two pieces while cut, one chain of most work after the heal") {
    temp_dir dir;
    auto report = json::parse(run_scenario("partition", dir));
    bool split_seen = false;
    for (const auto& g : report.at("peer_graph")) {
      auto t = g.at("t_ms").get<std::int64_t>();
      if (t > 60000 && t <= 180000) {
        CHECK(g.at("components") == 2);
        split_seen = true;
      }
    }
    CHECK(split_seen);
    CHECK(last_sample(report).at("components") == 1);
    const auto& conv = report.at("convergence");
    CHECK(conv.at("converged") == true);
    CHECK(conv.at("best_height") == 106); // 100 + node 0's six, not node 31's three
    CHECK(conv.at("at_best_height") == 32);
  }

  TEST_CASE("qtc-sim churn: crashes, leaves and joins, and everyone running ends synced") {
    temp_dir dir;
    auto report = json::parse(run_scenario("churn", dir));
    int crashes = 0;
    int restarts = 0;
    int leaves = 0;
    for (const auto& e : report.at("events")) {
      auto what = e.at("what").get<std::string>();
      crashes += what.rfind("crash ", 0) == 0;
      restarts += what.rfind("restart ", 0) == 0;
      leaves += what.rfind("leave ", 0) == 0;
    }
    CHECK(crashes + leaves == 11); // 30 % of 36 fresh nodes
    CHECK(restarts == crashes);
    CHECK(leaves == 4);
    const auto& conv = report.at("convergence");
    CHECK(conv.at("converged") == true);
    CHECK(conv.at("honest_running") == 40 - leaves + 6);
    CHECK(conv.at("best_height") == 154);
  }

  TEST_CASE("qtc-sim eclipse: attackers with half the addresses in 4 groups eclipse nobody") {
    temp_dir dir;
    auto report = json::parse(run_scenario("eclipse", dir));
    for (const auto& g : report.at("peer_graph"))
      if (g.at("nodes") > 0) {
        CHECK(g.at("eclipsed") == 0);
        CHECK(g.at("honest") == 24);
      }
    // Outbound peers come from distinct groups: the attackers' four can be at most four of them.
    CHECK(last_sample(report).at("outbound_groups_mean") >= 8);
    const auto& conv = report.at("convergence");
    CHECK(conv.at("converged") == true);
    CHECK(conv.at("best_height") == 102); // mined after the attackers went silent
  }

  TEST_CASE("qtc-sim attacks: addr floods and connection floods and invalid headers from 6 "
            "attackers leave every fresh node synced with attackers banned and no honest node") {
    temp_dir dir;
    auto report = json::parse(run_scenario("attacks", dir));
    const auto& sync = report.at("sync");
    CHECK(sync.at("fresh_started") == 8);
    CHECK(sync.at("time_to_sync_ms").at("count") == 8); // every fresh node synced
    for (const auto& g : report.at("peer_graph"))
      CHECK(g.at("eclipsed") == 0);
    const auto& section = report.at("attacks");
    const auto& attacks = section.at("attacks");
    REQUIRE(attacks.size() == 3);
    // addr-flood: 6 attackers x 3 targets, every session completed its handshake and sent
    // floods (the addresses past the rate limit are dropped and charged once a minute).
    CHECK(attacks[0].at("kind") == "addr-flood");
    CHECK(attacks[0].at("pairs") == 18);
    CHECK(attacks[0].at("ready") == 18);
    CHECK(attacks[0].at("messages_sent") > 18 * 10);
    // connection-flood: 240 connections; the connection-churn detector bans the addresses, and
    // most connections never complete a handshake.
    CHECK(attacks[1].at("kind") == "connection-flood");
    CHECK(attacks[1].at("sessions") == 240);
    CHECK(attacks[1].at("closed_before_ready") > 120);
    CHECK(section.at("bans_by_reason").value("connection-churn", 0) > 0);
    // invalid-headers: every session that got to send its header was closed by the target, and
    // the target banned the sender.
    CHECK(attacks[2].at("kind") == "invalid-headers");
    CHECK(attacks[2].at("messages_sent") > 0);
    CHECK(attacks[2].at("open_at_end") == 0);
    CHECK(attacks[2].at("closed_after_ready") == attacks[2].at("ready"));
    CHECK(section.at("bans_by_reason").value("invalid-header", 0)
          >= attacks[2].at("messages_sent").get<int>());
    CHECK(section.at("bans_of_attackers") > 0);
    CHECK(section.at("bans_of_honest") == 0);
    CHECK(report.at("convergence").at("converged") == true);
  }

  TEST_CASE("qtc-sim scale at CI size: 100 nodes in two lanes, seeds naming the running nodes, "
            "every fresh node synced within a few virtual seconds of its start") {
    temp_dir dir;
    auto report = json::parse(run_scenario("scale-1000", dir, {"--fresh=90", "--until-synced"}));
    CHECK(report.at("lanes") == 2);
    const auto& sync = report.at("sync");
    CHECK(sync.at("fresh_started") == 90);
    CHECK(sync.at("time_to_sync_ms").at("count") == 90);
    // With seeds naming nodes not started yet ("all"), an early node could be given only such
    // addresses and wait a minute before trying them again (15 s at this size, seed 1).
    CHECK(sync.at("time_to_sync_ms").at("max") < 5000);
    CHECK(report.at("convergence").at("converged") == true);
  }

  TEST_CASE("qtc-sim links: slower wires sync slower, and bandwidths drawn from a range fall "
            "between its ends") {
    temp_dir dir;
    auto p50 = [](const json& report) {
      CHECK(report.at("sync").at("time_to_sync_ms").at("count") == 36); // every fresh node
      return report.at("sync").at("time_to_sync_ms").at("p50").get<std::int64_t>();
    };
    auto slow = p50(run_propagation_with(dir, "slow", "bandwidth_kbit = 500"));
    auto fast = p50(run_propagation_with(dir, "fast", "bandwidth_kbit = 8000"));
    auto drawn = p50(
        run_propagation_with(dir, "drawn", "bandwidth_min_kbit = 500\nbandwidth_max_kbit = 8000"));
    MESSAGE("time to sync, p50: " << slow << " ms at 500 kbit/s, " << drawn << " ms drawn from "
                                  << "500-8000, " << fast << " ms at 8000");
    // 100 blocks of about 1 KB each take 1.6 s at 500 kbit/s from one peer, 0.1 s at 8000.
    CHECK(slow > fast + 300);
    CHECK(drawn > fast);
    CHECK(drawn < slow);
  }

  TEST_CASE("qtc-sim bootstrap lists: DNS seeds that answer nothing, and every node syncs "
            "through the chain spec's bootstrap nodes once dns_fallback_after has passed") {
    temp_dir dir;
    const std::string seeds = "dns_answer_size = 8";
    auto listed = run_propagation_edited(dir, "listed",
                                         {{seeds, "dns_answer_size = 0\nbootstrap_nodes = 2"}});
    const auto& sync = listed.at("sync");
    CHECK(sync.at("time_to_sync_ms").at("count") == 36); // every fresh node
    // Each node falls back 10 s after its start (regtest.toml's dns_fallback_after), not before.
    for (const auto& n : sync.at("nodes"))
      if (n.at("role") == "fresh")
        CHECK(n.at("synced_ms").get<std::int64_t>() >= 10'000);
    CHECK(sync.at("time_to_sync_ms").at("max") < 20'000);
    // Two nodes are listed, yet the network grows past them: addresses spread from there.
    CHECK(last_sample(listed).at("components") == 1);
    for (const auto& b : listed.at("propagation").at("blocks"))
      CHECK(b.at("count") == b.at("nodes"));
    // The spec file's list names 127.0.0.1, which no simulated node is: nobody finds anyone.
    auto unlisted = run_propagation_edited(dir, "unlisted", {{seeds, "dns_answer_size = 0"}});
    CHECK(unlisted.at("sync").at("time_to_sync_ms").at("count") == 0);
  }

  TEST_CASE("qtc-sim: the same seed gives the same report byte for byte, another seed another") {
    temp_dir dir;
    auto first = run_scenario("eclipse", dir);
    auto again = run_scenario("eclipse", dir, {"--dir=" + (dir.path() / "again").string()});
    CHECK(first == again);
    auto other = run_scenario("eclipse", dir, {"--seed=2", "--quiet"});
    CHECK(first != other);
    CHECK(json::parse(other).at("seed") == 2);
  }

  TEST_CASE("qtc-sim in two lanes: every node syncs and every mined block reaches every node, "
            "the same report byte for byte twice, another one than in one lane") {
    temp_dir dir;
    auto first = run_scenario("propagation", dir, {"--lanes=2"});
    auto again =
        run_scenario("propagation", dir, {"--lanes=2", "--dir=" + (dir.path() / "b").string()});
    CHECK(first == again);
    auto report = json::parse(first);
    CHECK(report.at("lanes") == 2);
    const auto& sync = report.at("sync");
    CHECK(sync.at("time_to_sync_ms").at("count") == 36);
    const auto& prop = report.at("propagation");
    REQUIRE(prop.at("blocks").size() == 5);
    for (const auto& b : prop.at("blocks"))
      CHECK(b.at("count") == b.at("nodes"));
    CHECK(report.at("convergence").at("converged") == true);
    CHECK(report.at("convergence").at("best_height") == 105);
    CHECK(last_sample(report).at("components") == 1);
    // Half the wires join nodes of different lanes: made, used and counted like the others.
    CHECK(report.at("network").at("wires_made") > 36 * 8);
    auto one_lane = json::parse(run_scenario("propagation", dir));
    CHECK(one_lane.at("lanes") == 1);
    CHECK(one_lane.at("sync") != report.at("sync"));
  }

  TEST_CASE("qtc-sim in two lanes: a partition across the lanes heals into one chain") {
    temp_dir dir;
    auto report = json::parse(run_scenario("partition", dir, {"--lanes=2"}));
    CHECK(report.at("convergence").at("converged") == true);
    CHECK(last_sample(report).at("components") == 1);
  }

  TEST_CASE("qtc-sim: a bad scenario is refused with file, line and key, and exit 2") {
    temp_dir dir;
    auto file = dir.path() / "bad.toml";
    std::ofstream{file}
        << "[scenario]\nname = \"x\"\nduration_ms = -5\nchain_spec = \"nowhere.toml\"\n"
           "[nodes]\nserving = 0\nchain_blocks = 10\nbogus = 1\n"
           "[[attack]]\nkind = \"nuke\"\ncount = 1\n"
           "[bootstrap]\nseeds_name = \"crawler\"\n"
           "[links]\nbandwidth_kbit = 100\nbandwidth_min_kbit = 900\nbandwidth_max_kbit = 800\n";
    auto r = run_to_completion(QTC_SIM_BINARY, {"--scenario=" + file.string()});
    auto says = [&](const std::string& text) { return r.output.find(text) != std::string::npos; };
    CHECK(r.exit_code == 2);
    CHECK_MESSAGE(says(file.string() + ":3: scenario.duration_ms: must be in"), r.output);
    CHECK_MESSAGE(says(":6: nodes.serving: must be in [1,"), r.output);
    CHECK_MESSAGE(says(":8: nodes.bogus: unknown key"), r.output);
    CHECK_MESSAGE(says(":9: attack[0]: an attack needs [attackers] count"), r.output);
    CHECK_MESSAGE(says(":10: attack[0].kind: must be addr-flood, invalid-headers or "
                       "connection-flood, got \"nuke\""),
                  r.output);
    CHECK_MESSAGE(says(":13: bootstrap.seeds_name: must be \"serving\", \"all\" or "
                       "\"running\", got \"crawler\""),
                  r.output);
    CHECK_MESSAGE(says(":15: links.bandwidth_kbit: give it or bandwidth_min_kbit and "
                       "bandwidth_max_kbit, not both"),
                  r.output);
    CHECK_MESSAGE(says(":17: links.bandwidth_max_kbit: must be at least "
                       "bandwidth_min_kbit"),
                  r.output);
    auto missing =
        run_to_completion(QTC_SIM_BINARY, {"--scenario=" + (dir.path() / "none.toml").string()});
    CHECK(missing.exit_code == 2);
    CHECK(missing.output.find("cannot read the scenario file") != std::string::npos);
    // An attack's sessions are bounded before anything runs; a bootstrap list names serving
    // nodes only.
    auto big = dir.path() / "big.toml";
    std::ofstream{big} << "[scenario]\nname = \"x\"\nduration_ms = 1000\nchain_spec = \""
                       << (source_dir / "config" / "regtest.toml").string()
                       << "\"\n[nodes]\nserving = 1\nfresh = 2000\nchain_blocks = 1\n"
                          "[attackers]\ncount = 1000\n"
                          "[[attack]]\nkind = \"connection-flood\"\ncount = 10\ntargets = 500\n"
                          "[bootstrap]\nbootstrap_nodes = 2\n";
    auto flood = run_to_completion(QTC_SIM_BINARY, {"--scenario=" + big.string()});
    CHECK(flood.exit_code == 2);
    CHECK_MESSAGE(flood.output.find(":14: attack[0].targets: the attack would open 5000000 "
                                    "sessions (attackers x targets x count), more than 1000000")
                      != std::string::npos,
                  flood.output);
    CHECK_MESSAGE(flood.output.find(":16: bootstrap.bootstrap_nodes: names serving nodes: at most "
                                    "nodes.serving (1), got 2")
                      != std::string::npos,
                  flood.output);
    auto usage = run_to_completion(QTC_SIM_BINARY, {"--seed=x"});
    CHECK(usage.exit_code == 2);
    // Lanes run in rounds as long as the smallest link latency: none, no lanes.
    auto instant = dir.path() / "instant.toml";
    std::ofstream{instant} << "[scenario]\nname = \"x\"\nduration_ms = 1000\nlanes = 2\n"
                              "chain_spec = \""
                           << (source_dir / "config" / "regtest.toml").string()
                           << "\"\n[nodes]\nserving = 1\nchain_blocks = 1\n";
    auto lanes = run_to_completion(QTC_SIM_BINARY, {"--scenario=" + instant.string()});
    CHECK(lanes.exit_code == 2);
    CHECK_MESSAGE(lanes.output.find(":4: scenario.lanes: more than one lane needs "
                                    "links.latency_min_ms above 0")
                      != std::string::npos,
                  lanes.output);
    auto eclipse = (source_dir / "config/sim/eclipse.toml").string();
    CHECK(run_to_completion(QTC_SIM_BINARY, {"--scenario=" + eclipse, "--lanes=0"}).exit_code == 2);
    CHECK(run_to_completion(QTC_SIM_BINARY, {"--scenario=" + eclipse, "--lanes=17"}).exit_code
          == 2);
  }

} // TEST_SUITE
