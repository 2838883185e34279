// Makes the next block of a test chain: a BIP34-style coinbase (the height leads its script, so
// every coinbase is unique), `extra_txs` transactions that spend made-up outpoints (scripts and
// UTXOs are outside the node's scope), a time 600 s after the parent's, and the first nonce that
// meets the parent's target. Used by qtc-chaingen and by the simulator's miners; the same parent,
// count and random stream always give the same block. Only for easy targets (regtest): the nonce
// search is a plain loop.
#pragma once

#include "messages/block.hpp"
#include "runtime/chain/pow.hpp"

#include <cstdint>
#include <random>

namespace qtc {

/// The block after `parent` (whose hash is `parent_hash`, at `parent_height`).
block make_next_block(const block_header& parent, const hash256& parent_hash,
                      std::uint32_t parent_height, std::uint64_t extra_txs, std::mt19937_64& rng,
                      const uint256_be& pow_limit);

} // namespace qtc
