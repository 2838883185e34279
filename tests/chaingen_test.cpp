// qtc-chaingen: deterministic, valid chains that independent tools and the node read back.
#include "messages/primitives/hex.hpp"
#include "runtime/chain/block_check.hpp"
#include "runtime/chain/genesis.hpp"
#include "runtime/store/chain_store.hpp"
#include "support/process.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <sstream>

using namespace qtc;
using namespace std::chrono_literals;

namespace {

const std::string chaingen = QTC_CHAINGEN_BINARY;
const std::filesystem::path source_dir = QTC_SOURCE_DIR;
const std::string regtest_spec = (source_dir / "config" / "regtest.toml").string();

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in{text};
  for (std::string line; std::getline(in, line);)
    if (!line.empty() && line.rfind("qtc-chaingen:", 0) != 0)
      out.push_back(line);
  return out;
}

chain_spec regtest() {
  auto r = load_chain_spec(regtest_spec);
  REQUIRE(r.spec);
  return *r.spec;
}

} // namespace

TEST_SUITE("process") {

  TEST_CASE("qtc-chaingen prints a deterministic, valid chain") {
    std::vector<std::string> args{"--chain-spec=" + regtest_spec, "--blocks=60", "--txs=4",
                                  "--seed=7", "--print-hex"};
    auto first = test::run_to_completion(chaingen, args);
    auto second = test::run_to_completion(chaingen, args);
    REQUIRE(first.exit_code == 0);
    CHECK(first.output == second.output);
    auto blocks = lines_of(first.output);
    REQUIRE(blocks.size() == 60);
    auto spec = regtest();
    auto prev = block_hash(make_genesis_block(spec).header);
    for (const auto& hex : blocks) {
      auto raw = qtc::from_hex(hex).value();
      byte_reader r{raw};
      auto b = read_block(r, 10'000);
      r.expect_end();
      REQUIRE(r.ok());
      CHECK(b.header.prev_block == prev);
      CHECK(b.txs.size() == 5);
      CHECK(check_block(b, raw.size(), spec.max_message_size) == block_rejection::none);
      prev = block_hash(b.header);
    }
    // python-bitcoinlib reads the last block with the same hash and merkle root.
    test::temp_dir dir;
    auto file = dir.write("block.hex", blocks.back());
    auto py = test::run_to_completion(
        "/usr/bin/python3", {(source_dir / "tests" / "interop" / "bitcoinlib_block.py").string(),
                             "decode", file.string()});
    REQUIRE_MESSAGE(py.exit_code == 0, py.output);
    auto json = nlohmann::json::parse(py.output);
    CHECK(json["hash"] == to_display_hex(prev));
    CHECK(json["computed_merkle_root"] == json["merkle_root"]);
    CHECK(json["reserialized"] == blocks.back());
    // Another seed, another chain.
    args[3] = "--seed=8";
    CHECK(test::run_to_completion(chaingen, args).output != first.output);
  }

  TEST_CASE("qtc-chaingen fills a data directory that qtcnode then serves from") {
    test::temp_dir dir;
    auto data = dir.path() / "data";
    auto gen = test::run_to_completion(chaingen, {"--chain-spec=" + regtest_spec, "--blocks=150",
                                                  "--txs=2", "--data-dir=" + data.string()});
    REQUIRE_MESSAGE(gen.exit_code == 0, gen.output);
    auto hex =
        lines_of(test::run_to_completion(chaingen, {"--chain-spec=" + regtest_spec, "--blocks=150",
                                                    "--txs=2", "--print-hex"})
                     .output);
    REQUIRE(hex.size() == 150);
    auto raw_tip = qtc::from_hex(hex.back()).value();
    byte_reader r{raw_tip};
    auto tip = block_hash(read_block(r, 10'000).header);
    {
      std::string error;
      auto spec = regtest();
      auto store = chain_store::open(
          data / "chain", chain_identity{"regtest", block_hash(make_genesis_block(spec).header)},
          error);
      REQUIRE_MESSAGE(store, error);
      CHECK(store->block_count() == 151);
      CHECK(store->header_count() == 151);
      CHECK(store->best_block() == tip);
    }
    test::child_process node{QTCNODE_BINARY,
                             {"--qtcnode.chain-spec=" + regtest_spec,
                              "--qtcnode.data-dir=" + data.string(), "--qtcnode.p2p-port=-1",
                              "--qtcnode.metrics-port=0", "--qtcnode.rpc-port=0"},
                             dir.path() / "node.log"};
    auto line = node.wait_for_line("msg=\"chain store open\"", 15s);
    REQUIRE(line);
    CHECK(test::field_value(*line, "blocks") == "151");
    REQUIRE(node.wait_for_line("msg=\"node running\"", 15s));
    node.signal(SIGTERM);
    CHECK(node.wait(5s) == 0);
    // A second run on a filled directory refuses rather than mixing chains.
    auto again = test::run_to_completion(
        chaingen, {"--chain-spec=" + regtest_spec, "--blocks=5", "--data-dir=" + data.string()});
    CHECK(again.exit_code == 1);
    CHECK(again.output.find("already holds a chain") != std::string::npos);
  }

  TEST_CASE("qtc-chaingen refuses a chain whose target is too hard to mine here") {
    auto result = test::run_to_completion(
        chaingen, {"--chain-spec=" + (source_dir / "config" / "mainnet.toml").string(),
                   "--blocks=1", "--print-hex"});
    CHECK(result.exit_code == 2);
    CHECK(result.output.find("too hard to mine") != std::string::npos);
  }

  TEST_CASE("qtc-chaingen --mine-genesis finds the nonce a spec pins") {
    // Regtest's pinned genesis is nonce 1 at the spec's time; a spec without a hash gets the
    // values to pin, and they must then pass the node's own genesis check.
    auto result = test::run_to_completion(
        chaingen, {"--chain-spec=" + regtest_spec, "--mine-genesis", "--threads=2"});
    REQUIRE_MESSAGE(result.exit_code == 0, result.output);
    CHECK(result.output.find("time = 1735689600") != std::string::npos);
    CHECK(result.output.find("nonce = 1\n") != std::string::npos);
    CHECK(result.output.find(
              "hash = \"205b687019cfd7bbb8cb6f3a2e1f363402d308fbf9d28e1bddb112fadd953abc\"")
          != std::string::npos);
  }

} // TEST_SUITE
