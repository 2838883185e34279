// The genesis block of a chain, built from its chain spec.
//
// Its single coinbase transaction: version 1; one input spending the null outpoint with
// script_sig = PUSH4 <bits, little-endian> PUSH1 0x04 PUSHn <coinbase_message>, sequence
// 0xffffffff; one output of `reward` to script_pubkey OP_TRUE (0x51); lock time 0.
#pragma once

#include "messages/block.hpp"
#include "runtime/chain/chain_spec.hpp"

#include <optional>

namespace qtc {

block make_genesis_block(const chain_spec& spec);

/// When the chain spec pins `genesis.hash`: the block built from `[genesis]` must hash to it and
/// meet its own target. Returns a problem as a config error (no line: it concerns the whole
/// table), or nothing when all is well or nothing is pinned.
std::optional<config_error> check_genesis(const chain_spec& spec);

} // namespace qtc
