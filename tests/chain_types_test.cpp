// Block, transaction, merkle and proof-of-work primitives against Bitcoin's own known answers.
#include "messages/block.hpp"
#include "messages/primitives/hex.hpp"
#include "runtime/chain/merkle.hpp"
#include "runtime/chain/pow.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <string>

using namespace qtc;

namespace {

/// Test data is well-formed hex.
bytes hex_bytes(const std::string& hex) {
  return qtc::from_hex(hex).value();
}

// Bitcoin's genesis block, byte for byte.
const std::string genesis_header_hex =
    "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c"
    "3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c";
const std::string genesis_coinbase_hex =
    "01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff4d04ffff001d"
    "01"
    "04455468652054696d65732030332f4a616e2f32303039204368616e63656c6c6f72206f6e206272696e6b206f6620"
    "7365636f6e64206261696c6f757420666f722062616e6b73ffffffff0100f2052a01000000434104678afdb0fe5548"
    "271967f1a67130b7105cd6a828e03909a67962e0ea1f61deb649f6bc3f4cef38c4f35504e51ec112de5c384df7ba0b"
    "8d578a4c702b6bf11d5fac00000000";

uint256_be limit_from_hex(const std::string& hex) {
  auto b = hex_bytes(hex);
  uint256_be out{};
  std::copy(b.begin(), b.end(), out.begin());
  return out;
}

} // namespace

TEST_CASE("Bitcoin's genesis block decodes, hashes and re-encodes byte for byte") {
  auto raw = hex_bytes(genesis_header_hex + "01" + genesis_coinbase_hex);
  byte_reader r{raw};
  auto b = read_block(r, 1000);
  r.expect_end();
  REQUIRE(r.ok());
  CHECK(b.header.version == 1);
  CHECK(b.header.time == 1231006505);
  CHECK(b.header.bits == 0x1d00ffff);
  CHECK(b.header.nonce == 2083236893);
  REQUIRE(b.txs.size() == 1);
  CHECK(b.txs[0].is_coinbase());
  CHECK(b.txs[0].outputs[0].value == 5'000'000'000);
  CHECK(to_display_hex(block_hash(b.header))
        == "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f");
  CHECK(to_display_hex(txid(b.txs[0]))
        == "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b");
  auto merkle = compute_merkle_root({txid(b.txs[0])});
  CHECK(merkle.root == b.header.merkle_root);
  CHECK_FALSE(merkle.mutated);
  CHECK(serialize(b) == raw);
  CHECK(to_hex(serialize(b.header)) == genesis_header_hex);
  auto limit = limit_from_hex("00000000ffffffffffffffffffffffffffffffffffffffffffffffffffffffff");
  CHECK(check_proof_of_work(block_hash(b.header), b.header.bits, limit));
  auto harder = b.header;
  harder.bits = 0x1b00ffff; // 65536 times harder: the genesis hash does not meet it
  CHECK_FALSE(check_proof_of_work(block_hash(b.header), harder.bits, limit));
}

TEST_CASE("compact targets decode and encode as Bitcoin does") {
  auto t = decode_compact(0x1d00ffff);
  REQUIRE(t);
  CHECK(to_hex(*t) == "00000000ffff0000000000000000000000000000000000000000000000000000");
  auto regtest = decode_compact(0x207fffff);
  REQUIRE(regtest);
  CHECK(to_hex(*regtest) == "7fffff0000000000000000000000000000000000000000000000000000000000");
  auto small = decode_compact(0x01123456);
  REQUIRE(small);
  CHECK(to_hex(*small) == "0000000000000000000000000000000000000000000000000000000000000012");
  CHECK_FALSE(decode_compact(0x01003456)); // shifts to zero
  CHECK_FALSE(decode_compact(0x04923456)); // sign bit: negative
  CHECK_FALSE(decode_compact(0xff123456)); // overflows 256 bits
  CHECK_FALSE(decode_compact(0));
  for (std::uint32_t bits : {0x1d00ffffu, 0x207fffffu, 0x1b0404cbu, 0x170331dbu, 0x01120000u}) {
    CAPTURE(bits);
    auto target = decode_compact(bits);
    REQUIRE(target);
    CHECK(encode_compact(*target) == bits);
  }
}

TEST_CASE("a target easier than the chain's limit is refused") {
  auto mainnet_limit =
      limit_from_hex("00000000ffffffffffffffffffffffffffffffffffffffffffffffffffffffff");
  hash256 zero{};
  CHECK(check_proof_of_work(zero, 0x1d00ffff, mainnet_limit));
  CHECK_FALSE(check_proof_of_work(zero, 0x207fffff, mainnet_limit));
}

TEST_CASE("merkle roots detect duplicated trailing transactions (CVE-2012-2459)") {
  hash256 a{}, b{}, c{};
  a[0] = 1;
  b[0] = 2;
  c[0] = 3;
  auto odd = compute_merkle_root({a, b, c});
  auto padded = compute_merkle_root({a, b, c, c});
  CHECK(odd.root == padded.root); // the weakness itself
  CHECK_FALSE(odd.mutated);
  CHECK(padded.mutated); // ... and its detection
  CHECK(compute_merkle_root({a}).root == a);
  CHECK_FALSE(compute_merkle_root({a, b}).mutated);
  CHECK(compute_merkle_root({a, a}).mutated);
}

TEST_CASE("transaction and block decoding refuse bad input with distinct errors") {
  auto coinbase = hex_bytes(genesis_coinbase_hex);
  SUBCASE("a zero input count (segwit marker) is not a legacy transaction") {
    auto raw = hex_bytes("01000000"
                         "00"
                         "01");
    byte_reader r{raw};
    read_transaction(r);
    CHECK(r.error() == wire_error::invalid_value);
  }
  SUBCASE("a script longer than MAX_SCRIPT_SIZE") {
    bytes raw;
    byte_writer w{raw};
    w.i32le(1);
    w.compact_size(1);
    w.raw(bytes(36, 0));
    w.compact_size(max_script_size + 1);
    w.raw(bytes(max_script_size + 1, 0));
    byte_reader r{raw};
    read_transaction(r);
    CHECK(r.error() == wire_error::count_too_large);
  }
  SUBCASE("every truncation of a real transaction is refused") {
    for (std::size_t n = 0; n < coinbase.size(); ++n) {
      byte_reader r{std::span{coinbase.data(), n}};
      read_transaction(r);
      CHECK_MESSAGE(!r.ok(), n);
    }
  }
  SUBCASE("a block announcing more transactions than its bytes can hold") {
    bytes raw = hex_bytes(genesis_header_hex);
    byte_writer w{raw};
    w.compact_size(1'000'000);
    w.raw(coinbase);
    byte_reader r{raw};
    read_block(r, 10'000'000);
    CHECK(r.error() == wire_error::truncated);
  }
}

TEST_CASE("known answer: Bitcoin mainnet block 100,000 (four transactions)") {
  // tests/data/README.md says where these bytes come from.
  std::ifstream in{std::string{QTC_SOURCE_DIR} + "/tests/data/mainnet_block_100000.hex"};
  std::string hex;
  in >> hex;
  auto raw = hex_bytes(hex);
  REQUIRE(raw.size() == 957);
  byte_reader r{raw};
  auto b = read_block(r, 1'000'000);
  r.expect_end();
  REQUIRE(r.ok());
  CHECK(to_display_hex(block_hash(b.header))
        == "000000000003ba27aa200b1cecaad478d2b00432346c3f1f3986da1afd33e506");
  CHECK(to_display_hex(b.header.prev_block)
        == "000000000002d01c1fccc21636b607dfd930d31d01c3a62104612a1719011250");
  REQUIRE(b.txs.size() == 4);
  CHECK(b.txs[0].is_coinbase());
  CHECK(to_display_hex(txid(b.txs[0]))
        == "8c14f0db3df150123e6f3dbbf30f8b955a8249b62ac1d1ff16284aefa3d06d87");
  CHECK(to_display_hex(txid(b.txs[3]))
        == "e9a66845e05d5abc0ad04ec80f774a7e585c6e8db975962d069a522137b80c1d");
  std::vector<hash256> ids;
  for (const auto& tx : b.txs)
    ids.push_back(txid(tx));
  auto merkle = compute_merkle_root(ids);
  CHECK(merkle.root == b.header.merkle_root);
  CHECK_FALSE(merkle.mutated);
  CHECK(to_display_hex(merkle.root)
        == "f3e94742aca4b5ef85488dc37c06c3282295ffec960994b2c0d5ac2a25a95766");
  auto limit = limit_from_hex("00000000ffffffffffffffffffffffffffffffffffffffffffffffffffffffff");
  CHECK(check_proof_of_work(block_hash(b.header), b.header.bits, limit));
  CHECK(serialize(b) == raw);
}
