#include "runtime/chain/block_maker.hpp"

#include "runtime/chain/merkle.hpp"

namespace qtc {

namespace {

hash256 random_hash(std::mt19937_64& rng) {
  hash256 h;
  for (std::size_t i = 0; i < 32; i += 8) {
    auto x = rng();
    for (std::size_t j = 0; j < 8; ++j)
      h[i + j] = static_cast<std::uint8_t>(x >> (8 * j));
  }
  return h;
}

transaction coinbase(std::uint32_t height) {
  transaction cb;
  bytes script{4};
  for (int i = 0; i < 4; ++i)
    script.push_back(static_cast<std::uint8_t>(height >> (8 * i)));
  script.push_back(0x51);
  cb.inputs.push_back(tx_in{outpoint{hash256{}, 0xffffffff}, script, 0xffffffff});
  cb.outputs.push_back(tx_out{5'000'000'000, bytes(25, 0x76)});
  return cb;
}

transaction made_up_transaction(std::mt19937_64& rng) {
  transaction tx;
  tx.version = 2;
  auto inputs = 1 + rng() % 3;
  for (std::uint64_t i = 0; i < inputs; ++i)
    tx.inputs.push_back(tx_in{outpoint{random_hash(rng), static_cast<std::uint32_t>(rng() % 4)},
                              bytes(70 + rng() % 40, static_cast<std::uint8_t>(rng())),
                              0xfffffffe});
  auto outputs = 1 + rng() % 3;
  for (std::uint64_t i = 0; i < outputs; ++i)
    tx.outputs.push_back(tx_out{static_cast<std::int64_t>(rng() % 100'000'000), bytes(25, 0xa9)});
  return tx;
}

} // namespace

block make_next_block(const block_header& parent, const hash256& parent_hash,
                      std::uint32_t parent_height, std::uint64_t extra_txs, std::mt19937_64& rng,
                      const uint256_be& pow_limit) {
  block b;
  b.txs.push_back(coinbase(parent_height + 1));
  for (std::uint64_t t = 0; t < extra_txs; ++t)
    b.txs.push_back(made_up_transaction(rng));
  std::vector<hash256> ids;
  for (const auto& tx : b.txs)
    ids.push_back(txid(tx));
  b.header.version = 1;
  b.header.prev_block = parent_hash;
  b.header.merkle_root = compute_merkle_root(std::move(ids)).root;
  b.header.time = parent.time + 600;
  b.header.bits = parent.bits;
  for (b.header.nonce = 0;; ++b.header.nonce)
    if (check_proof_of_work(block_hash(b.header), b.header.bits, pow_limit))
      break;
  return b;
}

} // namespace qtc
