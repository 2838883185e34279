// Context-free block checks (Bitcoin Core's CheckBlock, minus scripts): what a block must satisfy
// whatever chain it is on. Proof of work and linkage are the header tree's; scripts and UTXOs are
// out of scope (design card).
#pragma once

#include "messages/block.hpp"

#include <cstdint>
#include <string>

namespace qtc {

enum class block_rejection : std::uint8_t {
  none,
  no_transactions,     ///< a block needs at least its coinbase
  too_large,           ///< serialized size above the chain's limit
  first_not_coinbase,  ///< the first transaction must be the coinbase
  extra_coinbase,      ///< only the first transaction may be a coinbase
  bad_coinbase_script, ///< coinbase script_sig must be 2 to 100 bytes
  no_outputs,          ///< a transaction without outputs
  bad_output_value,    ///< an output value outside [0, 21,000,000 coins], or their sum
  duplicate_txid,      ///< the same transaction twice (includes CVE-2012-2459 mutations)
  bad_merkle_root,     ///< the header's merkle root is not the transactions'
};

std::string to_string(block_rejection x);

/// Checks `b`, whose serialization is `serialized_size` bytes, against a size limit.
block_rejection check_block(const block& b, std::size_t serialized_size, std::size_t max_size);

} // namespace qtc
