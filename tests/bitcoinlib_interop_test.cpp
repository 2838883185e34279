// The block codec against an independent implementation: Debian's python-bitcoinlib, run under
// Debian's interpreter. Blocks made here decode there with the same hashes and merkle roots, and
// blocks made there decode here.
#include "messages/block.hpp"
#include "messages/primitives/hex.hpp"
#include "runtime/chain/merkle.hpp"
#include "support/process.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

using namespace qtc;

namespace {

/// Test data is well-formed hex.
bytes hex_bytes(const std::string& hex) {
  return qtc::from_hex(hex).value();
}

const std::string python = "/usr/bin/python3";
const std::string script = std::string{QTC_SOURCE_DIR} + "/tests/interop/bitcoinlib_block.py";

nlohmann::json run_python(const std::vector<std::string>& args) {
  std::vector<std::string> full{script};
  full.insert(full.end(), args.begin(), args.end());
  auto result = test::run_to_completion(python, full);
  REQUIRE_MESSAGE(result.exit_code == 0, result.output);
  auto json = nlohmann::json::parse(result.output, nullptr, false);
  REQUIRE_MESSAGE(!json.is_discarded(), result.output);
  return json;
}

/// A block with varied transactions: several inputs and outputs, scripts of many lengths
/// (including ones whose length needs a 3-byte CompactSize).
block make_block() {
  block b;
  transaction coinbase;
  coinbase.inputs.push_back(
      tx_in{outpoint{hash256{}, 0xffffffff}, bytes{0x03, 0x01, 0x02, 0x03}, 0xffffffff});
  coinbase.outputs.push_back(tx_out{5'000'000'000, bytes(25, 0x76)});
  b.txs.push_back(coinbase);
  for (std::uint8_t i = 0; i < 6; ++i) {
    transaction tx;
    tx.version = i % 2 == 0 ? 1 : 2;
    tx.lock_time = 500'000u + i;
    for (std::uint8_t j = 0; j <= i % 3; ++j) {
      hash256 prev{};
      prev[0] = i;
      prev[31] = j;
      tx.inputs.push_back(
          tx_in{outpoint{prev, j}, bytes(static_cast<std::size_t>(10 + 60 * j), j), 0xfffffffd});
    }
    for (std::uint8_t k = 0; k <= (i + 1) % 4; ++k)
      tx.outputs.push_back(tx_out{1000 * (k + 1), bytes(k == 3 ? 300 : 22 + k, 0xa9)});
    b.txs.push_back(tx);
  }
  std::vector<hash256> ids;
  for (const auto& tx : b.txs)
    ids.push_back(txid(tx));
  b.header.version = 0x20000000;
  b.header.prev_block[5] = 0x42;
  b.header.merkle_root = compute_merkle_root(ids).root;
  b.header.time = 1735690000;
  b.header.bits = 0x207fffff;
  b.header.nonce = 12345;
  return b;
}

} // namespace

TEST_CASE("blocks made here decode in python-bitcoinlib with the same hashes") {
  auto b = make_block();
  auto raw = serialize(b);
  test::temp_dir dir;
  auto file = dir.write("block.hex", to_hex(raw));
  auto json = run_python({"decode", file.string()});
  CHECK(json["hash"] == to_display_hex(block_hash(b.header)));
  CHECK(json["merkle_root"] == to_display_hex(b.header.merkle_root));
  CHECK(json["computed_merkle_root"] == to_display_hex(b.header.merkle_root));
  REQUIRE(json["txids"].size() == b.txs.size());
  for (std::size_t i = 0; i < b.txs.size(); ++i)
    CHECK(json["txids"][i] == to_display_hex(txid(b.txs[i])));
  CHECK(json["reserialized"] == to_hex(raw));
}

TEST_CASE("blocks made by python-bitcoinlib decode here with the same hashes") {
  auto json = run_python({"make"});
  auto raw = hex_bytes(json["hex"].get<std::string>());
  byte_reader r{raw};
  auto b = read_block(r, 100'000);
  r.expect_end();
  REQUIRE(r.ok());
  CHECK(to_display_hex(block_hash(b.header)) == json["hash"]);
  CHECK(to_display_hex(b.header.merkle_root) == json["merkle_root"]);
  REQUIRE(b.txs.size() == json["txids"].size());
  std::vector<hash256> ids;
  for (std::size_t i = 0; i < b.txs.size(); ++i) {
    CHECK(to_display_hex(txid(b.txs[i])) == json["txids"][i]);
    ids.push_back(txid(b.txs[i]));
  }
  CHECK(compute_merkle_root(ids).root == b.header.merkle_root);
  CHECK(b.txs[0].is_coinbase());
  CHECK(serialize(b) == raw);
}
