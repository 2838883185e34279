// Writes a generated test chain (runtime/chain/block_maker) into a fresh data directory's chain
// store, or prints it: qtc-chaingen's work, shared with qtc-sim, which makes the chain its
// serving nodes start with.
#pragma once

#include "messages/primitives/hash.hpp"
#include "runtime/chain/chain_spec.hpp"

#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>

namespace qtc {

struct chain_request {
  std::uint64_t blocks = 0;
  std::uint64_t txs = 0;                         ///< transactions per block besides the coinbase
  std::uint64_t seed = 1;                        ///< the same seed gives the same chain
  std::optional<std::filesystem::path> data_dir; ///< where to store it (its chain/ store)
  std::ostream* hex_out = nullptr;               ///< or: print each block as hex, one a line
};

struct chain_outcome {
  std::string error; ///< empty on success
  hash256 tip{};
  std::uint32_t height = 0;
};

/// Requires an easy target (regtest): the nonce search is a plain loop.
chain_outcome write_chain(const chain_spec& spec, const chain_request& request);

} // namespace qtc
