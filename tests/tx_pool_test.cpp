// The transaction pool: stateless checks, first-seen conflicts, count and byte bounds with
// eviction by fee rate (unknown fees first, then oldest), removal for a connected block; the
// BIP133 fee filter and the rounding of our own.
#include "messages/p2p.hpp"
#include "runtime/sync/tx_pool.hpp"
#include "support/tx_fixtures.hpp"

#include <doctest/doctest.h>

#include <set>

using namespace qtc;
using qtc::test::block_of;
using qtc::test::coinbase_at;
using qtc::test::spend_of;

namespace {

std::size_t size_of(const transaction& tx) {
  return serialize(tx).size();
}

tx_pool::limits roomy() {
  return tx_pool::limits{1000, 1'000'000, 100'000};
}

} // namespace

TEST_CASE("the pool keeps a valid transaction under its txid, once") {
  tx_pool pool{roomy()};
  auto tx = spend_of(1);
  REQUIRE(size_of(tx) == 105);
  auto r = pool.add(tx);
  CHECK(r.rejection == tx_rejection::none);
  CHECK(r.id == txid(tx));
  CHECK(r.evicted.empty());
  REQUIRE(pool.contains(txid(tx)));
  CHECK(pool.find(txid(tx))->tx == tx);
  CHECK(pool.find(txid(tx))->size == 105);
  CHECK_FALSE(pool.find(txid(tx))->fee.has_value());
  CHECK(pool.size() == 1);
  CHECK(pool.bytes() == 105);
  CHECK(pool.add(tx).rejection == tx_rejection::already_have);
  CHECK(pool.size() == 1);
  CHECK(pool.remove(txid(tx)));
  CHECK_FALSE(pool.remove(txid(tx)));
  CHECK(pool.size() == 0);
  CHECK(pool.bytes() == 0);
}

TEST_CASE("stateless checks: each broken rule is its own rejection, and nothing is kept") {
  tx_pool pool{tx_pool::limits{1000, 1'000'000, 200}};
  auto reject = [&](const transaction& tx, tx_rejection why) {
    CHECK(pool.add(tx).rejection == why);
    CHECK(pool.size() == 0);
  };
  reject(coinbase_at(5), tx_rejection::coinbase);
  {
    auto tx = spend_of(1);
    tx.inputs.clear();
    reject(tx, tx_rejection::no_inputs);
  }
  {
    auto tx = spend_of(1);
    tx.outputs.clear();
    reject(tx, tx_rejection::no_outputs);
  }
  {
    // A null outpoint among several inputs: not a coinbase, and not a valid spend either.
    auto tx = spend_of(1);
    tx.inputs.push_back(tx_in{outpoint{hash256{}, 0xffffffff}, bytes(3, 1), 0});
    reject(tx, tx_rejection::null_prevout);
  }
  {
    auto tx = spend_of(1);
    tx.inputs.push_back(tx.inputs[0]);
    reject(tx, tx_rejection::duplicate_input);
    tx.inputs[1].prevout.index = 1; // another output of the same transaction is fine
    CHECK(pool.add(tx).rejection == tx_rejection::none);
    CHECK(pool.remove(txid(tx)));
  }
  {
    auto tx = spend_of(1);
    tx.outputs[0].value = -1;
    reject(tx, tx_rejection::bad_output_value);
    tx.outputs[0].value = max_money + 1;
    reject(tx, tx_rejection::bad_output_value);
    tx.outputs[0].value = max_money;
    tx.outputs.push_back(tx_out{1, bytes(25, 0x76)});
    reject(tx, tx_rejection::bad_output_value); // each in range, the sum is not
  }
  // 64 bytes could pose as an inner merkle node: refused; 65 is the smallest accepted.
  {
    auto tx = spend_of(1, 0, 0);
    tx.outputs[0].script_pubkey.resize(4);
    REQUIRE(size_of(tx) == 64);
    reject(tx, tx_rejection::too_small);
    tx.outputs[0].script_pubkey.resize(5);
    REQUIRE(size_of(tx) == 65);
    CHECK(pool.add(tx).rejection == tx_rejection::none);
    CHECK(pool.remove(txid(tx)));
  }
  {
    auto tx = spend_of(1, 0, 115);
    REQUIRE(size_of(tx) == 200);
    CHECK(pool.add(tx).rejection == tx_rejection::none);
    CHECK(pool.remove(txid(tx)));
    reject(spend_of(2, 0, 116), tx_rejection::too_large);
  }
}

TEST_CASE("a transaction spending what a pool transaction spends is refused: first seen wins") {
  tx_pool pool{roomy()};
  auto first = spend_of(1, 3);
  auto rival = spend_of(1, 3, 30); // the same outpoint, another transaction
  REQUIRE(txid(first) != txid(rival));
  CHECK(pool.add(first).rejection == tx_rejection::none);
  CHECK(pool.add(rival, 1'000'000).rejection == tx_rejection::conflict);
  CHECK(pool.add(spend_of(1, 4)).rejection == tx_rejection::none); // another output: fine
  // Once the first is gone, its outpoint is free again.
  CHECK(pool.remove(txid(first)));
  CHECK(pool.add(rival).rejection == tx_rejection::none);
}

TEST_CASE("the count bound evicts the oldest when fees are unknown") {
  tx_pool pool{tx_pool::limits{3, 1'000'000, 100'000}};
  for (std::uint32_t i = 1; i <= 3; ++i)
    REQUIRE(pool.add(spend_of(i)).evicted.empty());
  auto r = pool.add(spend_of(4));
  CHECK(r.rejection == tx_rejection::none);
  REQUIRE(r.evicted.size() == 1);
  CHECK(r.evicted[0] == txid(spend_of(1)));
  CHECK(pool.size() == 3);
  CHECK_FALSE(pool.contains(txid(spend_of(1))));
  for (std::uint32_t i = 2; i <= 4; ++i)
    CHECK(pool.contains(txid(spend_of(i))));
  // The evicted transaction's outpoint is no longer held: its rival may enter now.
  CHECK(pool.add(spend_of(1, 0, 30)).evicted == std::vector<hash256>{txid(spend_of(2))});
}

TEST_CASE("the byte bound evicts as many as it takes, and never exceeds the bound") {
  // Room for 1000 bytes: five 200-byte transactions fill it exactly, then a 500-byte one comes.
  tx_pool pool{tx_pool::limits{100, 1000, 100'000}};
  for (std::uint32_t i = 1; i <= 5; ++i) {
    auto r = pool.add(spend_of(i, 0, 115));
    REQUIRE(r.rejection == tx_rejection::none);
    CHECK(pool.bytes() <= 1000);
  }
  CHECK(pool.size() == 5);
  CHECK(pool.bytes() == 1000);
  auto big = spend_of(9, 0, 413); // a 3-byte script length from 253 bytes on
  REQUIRE(size_of(big) == 500);
  auto r = pool.add(big);
  CHECK(r.rejection == tx_rejection::none);
  CHECK(r.evicted
        == std::vector<hash256>{txid(spend_of(1, 0, 115)), txid(spend_of(2, 0, 115)),
                                txid(spend_of(3, 0, 115))});
  CHECK(pool.size() == 3);
  CHECK(pool.bytes() == 900);
  // A transaction larger than the whole pool is refused outright, the pool untouched.
  tx_pool small{tx_pool::limits{100, 150, 100'000}};
  CHECK(small.add(spend_of(1, 0, 20)).rejection == tx_rejection::none);
  CHECK(small.add(spend_of(2, 0, 115)).rejection == tx_rejection::pool_full);
  CHECK(small.size() == 1);
}

TEST_CASE("with known fees the lowest fee rate goes first, a poorer newcomer is refused") {
  tx_pool pool{tx_pool::limits{3, 1'000'000, 100'000}};
  auto a = spend_of(1); // 105 bytes each
  auto b = spend_of(2);
  auto c = spend_of(3);
  REQUIRE(pool.add(a, 2100).rejection == tx_rejection::none); // 20000 per kB
  REQUIRE(pool.add(b, 105).rejection == tx_rejection::none);  // 1000 per kB
  REQUIRE(pool.add(c, 1050).rejection == tx_rejection::none); // 10000 per kB
  CHECK(*pool.find(txid(b))->rate == 1000);
  CHECK(fee_rate(2100, 105) == 20000);
  CHECK(fee_rate(1, 3) == 333); // rounded down

  // Richer than b: b goes although it is not the oldest.
  auto d = spend_of(4);
  auto r = pool.add(d, 210); // 2000 per kB
  CHECK(r.rejection == tx_rejection::none);
  CHECK(r.evicted == std::vector<hash256>{txid(b)});

  // Poorer than everyone, or no fee known at all: refused, the pool unchanged.
  CHECK(pool.add(spend_of(5), 100).rejection == tx_rejection::pool_full);
  CHECK(pool.add(spend_of(6)).rejection == tx_rejection::pool_full);
  CHECK(pool.add(spend_of(7), 210).rejection == tx_rejection::pool_full); // a tie: no churn
  CHECK(pool.size() == 3);
  for (const auto& tx : {a, c, d})
    CHECK(pool.contains(txid(tx)));

  // Unknown fees rank below any known one: they go first, oldest first.
  tx_pool mixed{tx_pool::limits{3, 1'000'000, 100'000}};
  REQUIRE(mixed.add(spend_of(1), 105).rejection == tx_rejection::none);
  REQUIRE(mixed.add(spend_of(2)).rejection == tx_rejection::none);
  REQUIRE(mixed.add(spend_of(3)).rejection == tx_rejection::none);
  CHECK(mixed.add(spend_of(4), 0).evicted == std::vector<hash256>{txid(spend_of(2))});
  CHECK(mixed.add(spend_of(5), 0).evicted == std::vector<hash256>{txid(spend_of(3))});
  // Now all known: the 0-fee ones rank lowest, the older of them goes.
  CHECK(mixed.add(spend_of(6), 1).evicted == std::vector<hash256>{txid(spend_of(4))});
  // A fee nothing could pay counts as unknown.
  CHECK(mixed.add(spend_of(8), max_money + 1).rejection == tx_rejection::pool_full);
  CHECK(mixed.add(spend_of(9), -5).rejection == tx_rejection::pool_full);
}

TEST_CASE("a connected block removes its transactions and their double spends, nothing else") {
  tx_pool pool{roomy()};
  auto in_block = spend_of(1);
  auto also_in_block = spend_of(2);
  auto double_spend = spend_of(3, 0, 40); // spends what the block's third transaction spends
  auto unrelated = spend_of(4);
  auto child = spend_of(5);
  child.inputs[0].prevout = outpoint{txid(in_block), 0}; // spends the block's transaction
  for (const auto& tx : {in_block, also_in_block, double_spend, unrelated, child})
    REQUIRE(pool.add(tx).rejection == tx_rejection::none);
  auto bytes_before = pool.bytes();

  auto b = block_of({in_block, also_in_block, spend_of(3), spend_of(6)});
  CHECK(pool.remove_for_block(b) == 3);
  CHECK(pool.size() == 2);
  CHECK(pool.contains(txid(unrelated)));
  CHECK(pool.contains(txid(child))); // its parent is confirmed now: still good
  CHECK(pool.bytes() == size_of(unrelated) + size_of(child));
  CHECK(bytes_before == pool.bytes() + 2 * size_of(in_block) + size_of(double_spend));
  // The removed transactions' outpoints are released.
  CHECK(pool.add(spend_of(1, 0, 50)).rejection == tx_rejection::none);
  CHECK(pool.add(spend_of(3, 0, 60)).rejection == tx_rejection::none);
  // The same block again removes nothing more than what is in it now.
  CHECK(pool.remove_for_block(b) == 2);
}

TEST_CASE("feefilter: a peer with a zero filter hears everything, otherwise only known rates") {
  fee_filter f;
  CHECK(f.min_rate() == 0);
  CHECK(f.should_announce(std::nullopt));
  CHECK(f.should_announce(0));
  f.set(1000);
  CHECK(f.min_rate() == 1000);
  CHECK(f.should_announce(1000));
  CHECK(f.should_announce(5000));
  CHECK_FALSE(f.should_announce(999));
  CHECK_FALSE(f.should_announce(std::nullopt)); // no UTXO set: the fee cannot be shown
  f.set(0);
  CHECK(f.should_announce(std::nullopt));
}

TEST_CASE("our feefilter is rounded to a bucket, two times out of three the one below") {
  // Buckets: 0, 500, 550, 605, 665, ... (x1.1) up to 10^7.
  CHECK(round_fee_filter(0, 0) == 0);
  CHECK(round_fee_filter(0, 1) == 0);
  CHECK(round_fee_filter(600, 0) == 605);
  CHECK(round_fee_filter(600, 1) == 550);
  CHECK(round_fee_filter(600, 2) == 550);
  CHECK(round_fee_filter(600, 3) == 605);
  CHECK(round_fee_filter(605, 0) == 605);
  CHECK(round_fee_filter(500, 0) == 500);
  CHECK(round_fee_filter(500, 1) == 0);
  CHECK(round_fee_filter(1, 0) == 500);
  // Above the last bucket: the last bucket, whatever the draw.
  auto top = round_fee_filter(max_money, 0);
  CHECK(top == round_fee_filter(max_money, 1));
  CHECK(top <= 10'000'000);
  CHECK(top > 9'000'000);
  // Whatever the rate, the result is one of at most two buckets around it, never above 1.1 x.
  std::set<std::int64_t> seen;
  for (std::uint64_t draw = 0; draw < 30; ++draw) {
    auto x = round_fee_filter(123'456, draw);
    CHECK(x <= 123'456 * 11 / 10);
    CHECK(x >= 123'456 * 10 / 11 * 10 / 11);
    seen.insert(x);
  }
  CHECK(seen.size() == 2);
}

TEST_CASE("known txids per peer are bounded, the oldest forgotten first") {
  known_txs known{3};
  auto id = [](std::uint32_t i) { return txid(spend_of(i)); };
  known.insert(id(1));
  known.insert(id(2));
  known.insert(id(2)); // once only
  known.insert(id(3));
  CHECK(known.size() == 3);
  CHECK(known.contains(id(1)));
  known.insert(id(4));
  CHECK(known.size() == 3);
  CHECK_FALSE(known.contains(id(1)));
  for (std::uint32_t i = 2; i <= 4; ++i)
    CHECK(known.contains(id(i)));
  // Around the ring twice: always the oldest goes.
  for (std::uint32_t i = 5; i <= 10; ++i) {
    known.insert(id(i));
    CHECK(known.size() == 3);
    CHECK_FALSE(known.contains(id(i - 3)));
    CHECK(known.contains(id(i - 2)));
    CHECK(known.contains(id(i)));
  }
  known_txs none{0};
  none.insert(id(1));
  CHECK_FALSE(none.contains(id(1)));
}
