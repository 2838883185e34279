// Transactions and blocks for the relay tests (tx_pool, compact blocks): valid by the
// context-free rules, told apart by a seed.
#pragma once

#include "messages/block.hpp"
#include "runtime/chain/merkle.hpp"

#include <cstdint>

namespace qtc::test {

/// A non-coinbase transaction spending output `index` of a transaction named by `seed`, with a
/// script_sig of `script_size` bytes: serialized size 85 + script_size (one input, a 25-byte
/// output script, script_size < 253).
inline transaction spend_of(std::uint32_t seed, std::uint32_t index = 0,
                            std::size_t script_size = 20) {
  transaction tx;
  tx.version = 2;
  hash256 prev{};
  for (std::size_t i = 0; i < 4; ++i)
    prev[i] = static_cast<std::uint8_t>(seed >> (8 * i));
  prev[31] = 0x5a;
  tx.inputs.push_back(tx_in{outpoint{prev, index}, bytes(script_size, 0x51), 0xfffffffe});
  tx.outputs.push_back(tx_out{10'000 + seed, bytes(25, 0x76)});
  return tx;
}

/// A coinbase whose script carries `height` (2 to 100 bytes, as block_check requires).
inline transaction coinbase_at(std::uint32_t height) {
  transaction tx;
  bytes script{0x04, static_cast<std::uint8_t>(height), static_cast<std::uint8_t>(height >> 8),
               static_cast<std::uint8_t>(height >> 16), static_cast<std::uint8_t>(height >> 24)};
  tx.inputs.push_back(tx_in{outpoint{hash256{}, 0xffffffff}, script, 0xffffffff});
  tx.outputs.push_back(tx_out{5'000'000'000, bytes(25, 0x76)});
  return tx;
}

/// A block of its coinbase and `txs`, its header committing to them.
inline block block_of(std::vector<transaction> txs, std::uint32_t height = 7) {
  block b;
  b.header.version = 4;
  b.header.time = 1'700'000'000 + height;
  b.header.bits = 0x207fffff;
  b.txs.push_back(coinbase_at(height));
  for (auto& tx : txs)
    b.txs.push_back(std::move(tx));
  std::vector<hash256> ids;
  for (const auto& tx : b.txs)
    ids.push_back(txid(tx));
  b.header.merkle_root = compute_merkle_root(std::move(ids)).root;
  return b;
}

} // namespace qtc::test
