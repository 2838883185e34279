// BIP152 compact blocks: the short-id derivation against a published vector, the sender's
// cmpctblock and blocktxn, and the receiver's reconstruction through the wire codec: from a full
// pool, from a partial pool with getblocktxn/blocktxn, with short-id collisions, with a wrong
// transaction (merkle mismatch: fetch the full block), and with protocol violations.
#include "messages/primitives/hex.hpp"
#include "runtime/chain/block_check.hpp"
#include "runtime/sync/compact_block.hpp"
#include "support/tx_fixtures.hpp"

#include <doctest/doctest.h>

using namespace qtc;
using qtc::test::block_of;
using qtc::test::spend_of;
using status = partial_block::status;

namespace {

tx_pool::limits roomy() {
  return tx_pool::limits{1000, 1'000'000, 100'000};
}

/// A block of its coinbase and `n` spends (seeds 1..n).
block sample_block(std::uint32_t n) {
  std::vector<transaction> txs;
  for (std::uint32_t i = 1; i <= n; ++i)
    txs.push_back(spend_of(i));
  return block_of(std::move(txs));
}

/// Encodes `msg` as it would go on the wire and decodes it again; the decode must succeed.
template <class T>
T over_the_wire(const T& msg, bytes* payload_out = nullptr) {
  p2p_message m{msg};
  frame f{command_of(m), encode_payload(m)};
  if (payload_out != nullptr)
    *payload_out = f.payload;
  auto d = decode_message(f);
  REQUIRE(d.error == wire_error::none);
  REQUIRE(std::holds_alternative<T>(d.message));
  return std::get<T>(d.message);
}

/// The block's transactions at `indexes` in a pool, plus unrelated ones.
tx_pool pool_with(const block& b, const std::vector<std::uint32_t>& indexes) {
  tx_pool pool{roomy()};
  for (auto i : indexes)
    REQUIRE(pool.add(b.txs[i]).rejection == tx_rejection::none);
  for (std::uint32_t i = 500; i < 520; ++i)
    REQUIRE(pool.add(spend_of(i)).rejection == tx_rejection::none);
  return pool;
}

} // namespace

TEST_CASE("short ids match a published BIP152 vector (rust-bitcoin, checked against Elements)") {
  // rust-bitcoin's bip152 test_compact_block_vector: a regtest block of a coinbase and one
  // segwit transaction, compact version 2 (wtxid) with nonce 18053200567810711460; its one
  // short id is 0a6979e97145. Version 1 short ids differ only in hashing the txid instead,
  // so the key derivation, SipHash and 48-bit truncation are all exercised here.
  auto header_bytes = from_hex("000000206c750a364035aefd5f81508a08769975116d9195312ee4520dceac39e1"
                               "fdc62c4dc67473b8e354358c1e610afeaff7410858bd45df43e2940f8a62bd3d"
                               "5e3ac943c2975cffff7f2000000000")
                          .value();
  auto spend_with_witness =
      from_hex("020000000001021fc20ba2bd745507b8e00679e3b362558f9457db374ca28ffa5243f4c23a4d5f00"
               "000000171600147c9dea14ffbcaec4b575e03f05ceb7a81cd3fcbffdffffff915d689be87b4333"
               "7f42e26033df59807b768223368f189a023d0242d837768900000000171600147c9dea14ffbcae"
               "c4b575e03f05ceb7a81cd3fcbffdffffff0200cdf5050000000017a9146803c72d9154a6a20f40"
               "4bed6d3dcee07986235a8700e1f5050000000017a9144e6a4c7cb5b5562904843bdf816342f4db"
               "9f5797870247304402205e9bf6e70eb0e4b495bf483fd8e6e02da64900f290ef8aaa64bb32600d"
               "973c450220670896f5d0e5f33473e5f399ab680cc1d25c2d2afd15abd722f04978f28be8870121"
               "03e4e4d9312b2261af508b367d8ba9be4f01b61d6d6e78bec499845b4f410bcf2702473044022045"
               "ac80596a6ac9c8c572f94708709adaf106677221122e08daf8b9741a04f66a022003ccd52a3b78f8"
               "fd08058fc04fc0cffa5f4c196c84eae9e37e2a85babe731b57012103e4e4d9312b2261af508b36"
               "7d8ba9be4f01b61d6d6e78bec499845b4f410bcf276a000000")
          .value();
  REQUIRE(header_bytes.size() == 80);
  byte_reader r{header_bytes};
  auto header = read_block_header(r);
  REQUIRE(r.ok());
  auto wtxid = sha256d(spend_with_witness);
  auto key = short_id_key(header, 18053200567810711460ULL);
  CHECK(to_hex(key) == "ea3b57884ee6191f1722d0e318d9c442");
  // On the wire: 0a 69 79 e9 71 45 (u32 low, then u16 high, little-endian).
  CHECK(make_short_id(key, wtxid) == 0x4571e979690aULL);
}

TEST_CASE("the sender prefills the coinbase and sends every other transaction as its short id") {
  auto b = sample_block(5);
  auto m = make_compact_block(b, 0x0102030405060708ULL);
  CHECK(m.header == b.header);
  CHECK(m.nonce == 0x0102030405060708ULL);
  REQUIRE(m.prefilled.size() == 1);
  CHECK(m.prefilled[0].index == 0);
  CHECK(m.prefilled[0].tx == b.txs[0]);
  REQUIRE(m.short_ids.size() == 5);
  auto key = short_id_key(b.header, m.nonce);
  for (std::size_t i = 1; i < b.txs.size(); ++i)
    CHECK(m.short_ids[i - 1] == make_short_id(key, txid(b.txs[i])));
  // Another nonce, other short ids (and a peer cannot precompute collisions for ours).
  auto other = make_compact_block(b, 0x0102030405060709ULL);
  for (std::size_t i = 0; i < 5; ++i)
    CHECK(other.short_ids[i] != m.short_ids[i]);

  // The bytes: header, nonce LE, count, 6 bytes a short id (low u32, high u16, LE), one
  // prefilled transaction at differential index 0.
  bytes payload;
  auto back = over_the_wire(m, &payload);
  CHECK(back == m);
  auto coinbase_bytes = serialize(b.txs[0]);
  REQUIRE(payload.size() == 80 + 8 + 1 + 5 * 6 + 1 + 1 + coinbase_bytes.size());
  CHECK(bytes(payload.begin(), payload.begin() + 80) == serialize(b.header));
  CHECK(bytes(payload.begin() + 80, payload.begin() + 88) == bytes{8, 7, 6, 5, 4, 3, 2, 1});
  CHECK(payload[88] == 5);
  for (std::size_t i = 0; i < 5; ++i) {
    std::uint64_t id = 0;
    for (std::size_t k = 0; k < 6; ++k)
      id |= std::uint64_t{payload[89 + 6 * i + k]} << (8 * k);
    CHECK(id == m.short_ids[i]);
  }
  CHECK(payload[119] == 1); // one prefilled
  CHECK(payload[120] == 0); // index 0
  CHECK(bytes(payload.begin() + 121, payload.end()) == coinbase_bytes);
}

TEST_CASE("a full pool rebuilds the block from the wire announcement alone") {
  auto b = sample_block(12);
  auto announced = over_the_wire(make_compact_block(b, 42));
  auto pool = pool_with(b, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
  partial_block pb;
  REQUIRE(pb.init(announced, pool, 1'000'000) == status::complete);
  CHECK(pb.hash() == block_hash(b.header));
  CHECK(pb.missing().empty());
  CHECK(pb.from_pool() == 12);
  auto rebuilt = pb.take();
  CHECK(rebuilt == b);
  auto raw = serialize(rebuilt);
  CHECK(check_block(rebuilt, raw.size(), 4'000'000) == block_rejection::none);
  // A block of the coinbase alone needs no pool at all.
  auto lone = block_of({});
  partial_block pl;
  CHECK(pl.init(over_the_wire(make_compact_block(lone, 1)), tx_pool{roomy()}, 10)
        == status::complete);
  CHECK(pl.take() == lone);
}

TEST_CASE("a partial pool asks for the rest with a differential getblocktxn, blocktxn fills") {
  auto b = sample_block(10);
  auto announced = over_the_wire(make_compact_block(b, 7));
  auto pool = pool_with(b, {1, 3, 4, 5, 6, 9});
  partial_block pb;
  REQUIRE(pb.init(announced, pool, 1'000'000) == status::need_txs);
  CHECK(pb.from_pool() == 6);
  CHECK(pb.missing() == std::vector<std::uint32_t>{2, 7, 8, 10});

  // getblocktxn on the wire: hash, count 4, then 2, 7-2-1 = 4, 8-7-1 = 0, 10-8-1 = 1.
  bytes payload;
  auto request = over_the_wire(pb.request(), &payload);
  CHECK(request.block_hash == block_hash(b.header));
  CHECK(request.indexes == std::vector<std::uint32_t>{2, 7, 8, 10});
  REQUIRE(payload.size() == 32 + 1 + 4);
  CHECK(bytes(payload.begin() + 32, payload.end()) == bytes{4, 2, 4, 0, 1});

  // The sender answers from the block; the receiver completes it.
  auto answer = answer_getblocktxn(b, request);
  REQUIRE(answer.has_value());
  REQUIRE(answer->txs.size() == 4);
  CHECK(answer->txs[0] == b.txs[2]);
  CHECK(answer->txs[3] == b.txs[10]);
  REQUIRE(pb.fill(over_the_wire(*answer)) == status::complete);
  CHECK(pb.take() == b);

  // Nothing in the pool: everything but the coinbase is requested.
  partial_block empty;
  REQUIRE(empty.init(announced, tx_pool{roomy()}, 1'000'000) == status::need_txs);
  CHECK(empty.missing().size() == 10);
  CHECK(empty.from_pool() == 0);
  REQUIRE(empty.fill(*answer_getblocktxn(b, empty.request())) == status::complete);
  CHECK(empty.take() == b);
}

TEST_CASE("differential indexes with three-byte CompactSizes, up to the 65535 limit") {
  getblocktxn_message m;
  m.block_hash[0] = 1;
  m.indexes = {0, 1, 300, 65'000, 65'535};
  bytes payload;
  CHECK(over_the_wire(m, &payload) == m);
  // count 5 | 0 | 1-0-1 = 0 | 300-1-1 = 298 (fd 2a 01) | 65000-300-1 = 64699 (fd bb fc) |
  // 65535-65000-1 = 534 (fd 16 02)
  CHECK(bytes(payload.begin() + 32, payload.end())
        == bytes{5, 0, 0, 0xfd, 0x2a, 0x01, 0xfd, 0xbb, 0xfc, 0xfd, 0x16, 0x02});
  // One past the limit is refused by the decoder.
  m.indexes.back() = 65'536;
  CHECK(decode_message(frame{"getblocktxn", encode_payload(p2p_message{m})}).error
        == wire_error::invalid_value);
}

TEST_CASE("a sender refuses a getblocktxn outside its block or for another block") {
  auto b = sample_block(3);
  CHECK(answer_getblocktxn(b, getblocktxn_message{block_hash(b.header), {0, 3}}).has_value());
  CHECK_FALSE(answer_getblocktxn(b, getblocktxn_message{block_hash(b.header), {1, 4}}));
  CHECK_FALSE(answer_getblocktxn(b, getblocktxn_message{hash256{}, {1}}));
}

TEST_CASE("two block transactions with one short id: fall back to the full block") {
  auto b = sample_block(6);
  auto m = make_compact_block(b, 3);
  m.short_ids[4] = m.short_ids[1]; // as a sender would send two colliding transactions
  partial_block pb;
  CHECK(pb.init(over_the_wire(m), pool_with(b, {1, 2, 3, 4, 5, 6}), 1'000'000) == status::failed);
}

TEST_CASE("two pool transactions with one short id: the slot is requested, not guessed") {
  // A real 48-bit collision, found by a birthday search over 2^26 spends (the prevout index
  // varied) under the key of this block and nonce 0: two different transactions, one short id.
  auto b = sample_block(3);
  auto key = short_id_key(b.header, 0);
  auto a = spend_of(1000, 21'883'249);
  auto c = spend_of(1000, 24'000'226);
  REQUIRE(txid(a) != txid(c));
  REQUIRE(make_short_id(key, txid(a)) == 0x175a9030ca7dULL);
  REQUIRE(make_short_id(key, txid(c)) == 0x175a9030ca7dULL);
  // Slot 2 is announced with that short id (the block cannot contain one of them without
  // changing its own key, so the test stands in the block's transaction for it).
  auto m = make_compact_block(b, 0);
  m.short_ids[1] = make_short_id(key, txid(a));
  auto pool = pool_with(b, {1, 3});
  REQUIRE(pool.add(a).rejection == tx_rejection::none);
  {
    // One match: the slot takes it, and the merkle root tells it was the wrong one.
    partial_block pb;
    CHECK(pb.init(over_the_wire(m), pool, 1'000'000) == status::failed);
  }
  REQUIRE(pool.add(c).rejection == tx_rejection::none);
  partial_block pb;
  REQUIRE(pb.init(over_the_wire(m), pool, 1'000'000) == status::need_txs);
  CHECK(pb.missing() == std::vector<std::uint32_t>{2});
  CHECK(pb.from_pool() == 2); // slots 1 and 3
  REQUIRE(pb.fill(*answer_getblocktxn(b, pb.request())) == status::complete);
  CHECK(pb.take() == b);
}

TEST_CASE("a pool transaction taking a block transaction's short id: merkle mismatch, full "
          "block") {
  // The pool holds a transaction that is not in the block but whose short id is one of the
  // block's (here made so by announcing its short id in place of the real one, which is what a
  // 48-bit collision looks like to the receiver). The block rebuilds, does not match its
  // header's merkle root, and must be fetched whole.
  auto b = sample_block(6);
  auto impostor = spend_of(600);
  auto m = make_compact_block(b, 9);
  m.short_ids[2] = make_short_id(short_id_key(b.header, 9), txid(impostor));
  auto pool = pool_with(b, {1, 2, 4, 5, 6});
  REQUIRE(pool.add(impostor).rejection == tx_rejection::none);
  partial_block pb;
  CHECK(pb.init(over_the_wire(m), pool, 1'000'000) == status::failed);
  // Without the impostor in the pool the slot stays empty and is requested; the real
  // transaction fills it and the block completes.
  partial_block honest;
  REQUIRE(honest.init(m, pool_with(b, {1, 2, 4, 5, 6}), 1'000'000) == status::need_txs);
  CHECK(honest.missing() == std::vector<std::uint32_t>{3});
  CHECK(honest.fill(*answer_getblocktxn(b, honest.request())) == status::complete);
}

TEST_CASE("a wrong transaction in blocktxn: merkle mismatch, fetch the full block") {
  auto b = sample_block(5);
  partial_block pb;
  REQUIRE(pb.init(make_compact_block(b, 11), pool_with(b, {1, 2, 4}), 1'000'000)
          == status::need_txs);
  auto answer = *answer_getblocktxn(b, pb.request());
  REQUIRE(answer.txs.size() == 2);
  answer.txs[1].outputs[0].value += 1; // one satoshi more: another txid
  CHECK(pb.fill(over_the_wire(answer)) == status::failed);
  // A block with its last transaction twice has the same merkle root as without (CVE-2012-2459):
  // the rebuilt block matches the header's root, and is still refused as mutated.
  auto twice = sample_block(2);
  twice.txs.push_back(twice.txs[2]);
  std::vector<hash256> ids;
  for (const auto& tx : twice.txs)
    ids.push_back(txid(tx));
  REQUIRE(compute_merkle_root(ids).root == twice.header.merkle_root);
  auto m = make_compact_block(twice, 5);
  m.short_ids.pop_back(); // the copy goes prefilled (as short ids the two would collide)
  m.prefilled.push_back(prefilled_tx{3, twice.txs[3]});
  partial_block dup;
  CHECK(dup.init(over_the_wire(m), pool_with(twice, {1, 2}), 1'000'000) == status::failed);
}

TEST_CASE("protocol violations in cmpctblock and blocktxn are invalid, not a fallback") {
  auto b = sample_block(4);
  auto m = make_compact_block(b, 1);
  auto pool = pool_with(b, {1, 2});
  partial_block pb;
  {
    cmpctblock_message empty;
    empty.header = b.header;
    CHECK(pb.init(empty, pool, 1'000'000) == status::invalid);
  }
  CHECK(pb.init(m, pool, 4) == status::invalid); // 5 transactions, at most 4 allowed
  {
    // More slots than getblocktxn could name: not a violation, but fetch the block whole.
    auto huge = m;
    huge.short_ids.resize(max_compact_slots);
    for (std::size_t i = 0; i < huge.short_ids.size(); ++i)
      huge.short_ids[i] = i;
    CHECK(pb.init(huge, pool, 1'000'000) == status::failed);
    huge.short_ids.pop_back(); // 65536 slots with the coinbase: still fine
    CHECK(pb.init(huge, pool, 1'000'000) == status::need_txs);
    CHECK(pb.missing().back() == 65535);
  }
  {
    auto bad = m;
    bad.prefilled[0].index = 5; // past the last of 5 slots
    CHECK(pb.init(bad, pool, 1'000'000) == status::invalid);
  }
  {
    auto bad = m;
    bad.short_ids.pop_back();
    bad.prefilled.push_back(prefilled_tx{0, b.txs[4]}); // not ascending
    CHECK(pb.init(bad, pool, 1'000'000) == status::invalid);
  }
  {
    auto bad = m;
    bad.prefilled[0].tx.inputs.clear();
    CHECK(pb.init(bad, pool, 1'000'000) == status::invalid);
  }
  REQUIRE(pb.init(m, pool, 1'000'000) == status::need_txs);
  auto answer = *answer_getblocktxn(b, pb.request());
  {
    auto wrong_block = answer;
    wrong_block.block_hash[0] ^= 1;
    CHECK(pb.fill(wrong_block) == status::invalid);
  }
  {
    auto short_answer = answer;
    short_answer.txs.pop_back();
    CHECK(pb.fill(short_answer) == status::invalid);
    auto long_answer = answer;
    long_answer.txs.push_back(b.txs[1]);
    CHECK(pb.fill(long_answer) == status::invalid);
  }
  // The violations left the partial block as it was: the right answer still completes it.
  REQUIRE(pb.fill(answer) == status::complete);
  CHECK(pb.take() == b);
  CHECK(pb.fill(answer) == status::invalid); // nothing pending any more
}

TEST_CASE("high-bandwidth peers: the last three first deliverers, keeping one outbound") {
  using change = high_bandwidth_peers::change;
  high_bandwidth_peers hb;
  CHECK(hb.delivered_first(1, true) == change{1, std::nullopt});
  CHECK(hb.delivered_first(2, false) == change{2, std::nullopt});
  CHECK(hb.delivered_first(3, false) == change{3, std::nullopt});
  CHECK(hb.peers() == std::vector<std::uint64_t>{1, 2, 3});
  // Already high-bandwidth: nothing to send, it just becomes the most recent.
  CHECK(hb.delivered_first(1, true) == change{});
  CHECK(hb.peers() == std::vector<std::uint64_t>{2, 3, 1});
  // A fourth: the oldest goes back to low bandwidth.
  CHECK(hb.delivered_first(4, false) == change{4, 2});
  CHECK(hb.peers() == std::vector<std::uint64_t>{3, 1, 4});
  CHECK(hb.delivered_first(5, false) == change{5, 3});
  CHECK(hb.peers() == std::vector<std::uint64_t>{1, 4, 5});
  // Peer 1 is the oldest and the only outbound one: an inbound newcomer takes 4's place instead.
  CHECK(hb.delivered_first(6, false) == change{6, 4});
  CHECK(hb.peers() == std::vector<std::uint64_t>{1, 5, 6});
  // An outbound newcomer may replace it (another outbound peer is then in the set).
  CHECK(hb.delivered_first(7, true) == change{7, 1});
  CHECK(hb.peers() == std::vector<std::uint64_t>{5, 6, 7});
  hb.remove(6);
  CHECK(hb.peers() == std::vector<std::uint64_t>{5, 7});
  CHECK(hb.delivered_first(8, false) == change{8, std::nullopt});
}
