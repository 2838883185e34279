// Context-free block checks: each broken rule is its own rejection.
#include "runtime/chain/block_check.hpp"
#include "runtime/chain/merkle.hpp"

#include <doctest/doctest.h>

using namespace qtc;

namespace {

transaction spend(std::uint8_t seed) {
  transaction tx;
  hash256 prev{};
  prev[0] = seed;
  tx.inputs.push_back(tx_in{outpoint{prev, 0}, bytes{seed}, 0xffffffff});
  tx.outputs.push_back(tx_out{1000, bytes{0x51}});
  return tx;
}

transaction coinbase() {
  transaction tx;
  tx.inputs.push_back(tx_in{outpoint{hash256{}, 0xffffffff}, bytes{0x01, 0x02}, 0xffffffff});
  tx.outputs.push_back(tx_out{5'000'000'000, bytes{0x51}});
  return tx;
}

void fix_merkle(block& b) {
  std::vector<hash256> ids;
  for (const auto& tx : b.txs)
    ids.push_back(txid(tx));
  b.header.merkle_root = compute_merkle_root(ids).root;
}

block valid_block() {
  block b;
  b.txs = {coinbase(), spend(1), spend(2), spend(3)};
  fix_merkle(b);
  return b;
}

block_rejection check(const block& b, std::size_t max = 4'000'000) {
  return check_block(b, serialize(b).size(), max);
}

} // namespace

TEST_CASE("a well-formed block passes") {
  CHECK(check(valid_block()) == block_rejection::none);
}

TEST_CASE("each broken rule is its own rejection") {
  auto b = valid_block();
  SUBCASE("no transactions") {
    b.txs.clear();
    CHECK(check(b) == block_rejection::no_transactions);
  }
  SUBCASE("too large") {
    CHECK(check(b, serialize(b).size() - 1) == block_rejection::too_large);
  }
  SUBCASE("first is not a coinbase") {
    std::swap(b.txs[0], b.txs[1]);
    fix_merkle(b);
    CHECK(check(b) == block_rejection::first_not_coinbase);
  }
  SUBCASE("a second coinbase") {
    b.txs[2] = coinbase();
    b.txs[2].lock_time = 7; // a different txid
    fix_merkle(b);
    CHECK(check(b) == block_rejection::extra_coinbase);
  }
  SUBCASE("coinbase script too short") {
    b.txs[0].inputs[0].script_sig = bytes{0x01};
    fix_merkle(b);
    CHECK(check(b) == block_rejection::bad_coinbase_script);
  }
  SUBCASE("no outputs") {
    b.txs[1].outputs.clear();
    fix_merkle(b);
    CHECK(check(b) == block_rejection::no_outputs);
  }
  SUBCASE("negative output") {
    b.txs[1].outputs[0].value = -1;
    fix_merkle(b);
    CHECK(check(b) == block_rejection::bad_output_value);
  }
  SUBCASE("duplicate transactions anywhere") {
    b.txs[3] = b.txs[1];
    fix_merkle(b);
    CHECK(check(b) == block_rejection::duplicate_txid);
  }
  SUBCASE("CVE-2012-2459: a duplicated tail has the original's merkle root") {
    auto odd = valid_block();
    odd.txs.pop_back(); // 3 transactions
    fix_merkle(odd);
    auto mutated = odd;
    mutated.txs.push_back(mutated.txs.back()); // [cb, a, b, b]: same root
    CHECK(mutated.header.merkle_root == odd.header.merkle_root);
    CHECK(check(odd) == block_rejection::none);
    CHECK(check(mutated) == block_rejection::duplicate_txid);
  }
  SUBCASE("merkle root does not match") {
    b.header.merkle_root[0] ^= 1;
    CHECK(check(b) == block_rejection::bad_merkle_root);
  }
}

TEST_CASE("what the block checks leave out: BIP34 height, the subsidy, scripts and fees") {
  // docs/protocol.md, "Header and block validity": no UTXO set and no subsidy schedule, so a
  // coinbase is not read for a height and may pay any valid amount; these blocks pass.
  auto b = valid_block();
  SUBCASE("a coinbase script without a height push, at both length bounds") {
    b.txs[0].inputs[0].script_sig = bytes{0xff, 0xff}; // not a push at all
    fix_merkle(b);
    CHECK(check(b) == block_rejection::none);
    b.txs[0].inputs[0].script_sig = bytes(100, 0x00);
    fix_merkle(b);
    CHECK(check(b) == block_rejection::none);
    b.txs[0].inputs[0].script_sig = bytes(101, 0x00);
    fix_merkle(b);
    CHECK(check(b) == block_rejection::bad_coinbase_script);
  }
  SUBCASE("a coinbase paying all the money there is, in two outputs") {
    b.txs[0].outputs = {tx_out{1'000'000'000'000'000, bytes{0x51}},
                        tx_out{1'100'000'000'000'000, bytes{0x51}}};
    fix_merkle(b);
    CHECK(check(b) == block_rejection::none);
    b.txs[0].outputs[1].value += 1; // one base unit past 2.1e15 in total
    fix_merkle(b);
    CHECK(check(b) == block_rejection::bad_output_value);
  }
  SUBCASE("a spend of an output that exists nowhere, paying more than it could have") {
    b.txs[1].outputs[0].value = 2'100'000'000'000'000;
    b.txs[1].inputs[0].script_sig = bytes{0x6a}; // OP_RETURN: scripts are not run
    fix_merkle(b);
    CHECK(check(b) == block_rejection::none);
  }
}
