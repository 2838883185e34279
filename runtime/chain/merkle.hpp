// Merkle roots as Bitcoin computes them, with the CVE-2012-2459 mutation check: a list whose
// last hashes repeat (e.g. [a, b, c, c]) has the same root as one without the repeat ([a, b, c]),
// so a block with duplicated transactions could pass as a valid one. `mutated` reports it.
#pragma once

#include "messages/primitives/hash.hpp"

#include <vector>

namespace qtc {

struct merkle_result {
  hash256 root{};
  bool mutated = false; ///< two identical sibling hashes were combined somewhere in the tree
};

merkle_result compute_merkle_root(std::vector<hash256> leaves);

} // namespace qtc
