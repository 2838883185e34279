#include "runtime/chain/genesis.hpp"

#include "runtime/chain/header_tree.hpp"
#include "runtime/chain/merkle.hpp"

namespace qtc {

block make_genesis_block(const chain_spec& spec) {
  transaction coinbase;
  coinbase.version = 1;
  tx_in in;
  in.prevout = outpoint{hash256{}, 0xffffffff};
  bytes& script = in.script_sig;
  script.push_back(4);
  for (int i = 0; i < 4; ++i)
    script.push_back(static_cast<std::uint8_t>(spec.genesis_bits >> (8 * i)));
  script.push_back(1);
  script.push_back(4);
  const auto& msg = spec.genesis_coinbase_message; // 1..90 bytes: a direct push (opcode = length)
  script.push_back(static_cast<std::uint8_t>(msg.size()));
  script.insert(script.end(), msg.begin(), msg.end());
  in.sequence = 0xffffffff;
  coinbase.inputs.push_back(std::move(in));
  coinbase.outputs.push_back(tx_out{static_cast<std::int64_t>(spec.genesis_reward), bytes{0x51}});
  block b;
  b.txs.push_back(std::move(coinbase));
  b.header.version = spec.genesis_version;
  b.header.merkle_root = compute_merkle_root({txid(b.txs[0])}).root;
  b.header.time = spec.genesis_time;
  b.header.bits = spec.genesis_bits;
  b.header.nonce = spec.genesis_nonce;
  return b;
}

std::optional<config_error> check_genesis(const chain_spec& spec) {
  if (spec.genesis_hash_hex.empty())
    return std::nullopt;
  auto genesis = make_genesis_block(spec);
  auto hash = to_display_hex(block_hash(genesis.header));
  if (hash != spec.genesis_hash_hex)
    return config_error{spec.source.string(), 0, "genesis.hash",
                        "the block defined by [genesis] hashes to " + hash + ", not "
                            + spec.genesis_hash_hex};
  auto limit = chain_params::from(spec).pow_limit.to_big_endian();
  if (!check_proof_of_work(block_hash(genesis.header), genesis.header.bits, limit))
    return config_error{spec.source.string(), 0, "genesis.nonce",
                        "the genesis block does not meet its own target (bits)"};
  return std::nullopt;
}

} // namespace qtc
