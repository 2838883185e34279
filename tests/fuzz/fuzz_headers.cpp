// Fuzz target: arbitrary bytes as a run of 80-byte headers offered to the regtest header tree
// (genesis and rules as the shipped regtest chain spec defines them, built in).
// Invariants: no crash; the best tip always has the most work of all accepted headers and links
// back to genesis.
#include "runtime/chain/genesis.hpp"
#include "runtime/chain/header_tree.hpp"

#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace qtc;
  chain_params params;
  params.pow_limit = uint256::from_big_endian(decode_compact(0x207fffff).value());
  params.retarget_interval = 0;
  params.target_spacing = 600;
  params.max_future_block_time = 7200;
  params.median_time_span = 11;
  block_header genesis;
  genesis.version = 1;
  genesis.time = 1735689600;
  genesis.bits = 0x207fffff;
  header_tree tree{params, genesis};
  byte_reader r{std::span{data, size}};
  while (r.remaining() >= block_header_size) {
    auto h = read_block_header(r);
    // Link to a known header so that the deeper rules are reached, not only unknown_parent.
    if (h.prev_block[0] & 1)
      h.prev_block = tree.best().hash;
    auto result = tree.accept(h, 1'800'000'000);
    if (result.node != nullptr && result.node->chain_work > tree.best().chain_work)
      std::abort();
  }
  if (tree.ancestor(tree.best(), 0) != &tree.genesis())
    std::abort();
  return 0;
}
