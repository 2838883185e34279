#include "runtime/chain/merkle.hpp"

#include <algorithm>

namespace qtc {

merkle_result compute_merkle_root(std::vector<hash256> level) {
  merkle_result result;
  if (level.empty())
    return result;
  std::array<std::uint8_t, 64> pair;
  while (level.size() > 1) {
    // Identical siblings at a position that is not the padding of an odd level: mutated.
    for (std::size_t i = 0; i + 1 < level.size(); i += 2)
      if (level[i] == level[i + 1])
        result.mutated = true;
    if (level.size() % 2 == 1)
      level.push_back(level.back());
    for (std::size_t i = 0; i < level.size() / 2; ++i) {
      std::copy(level[2 * i].begin(), level[2 * i].end(), pair.begin());
      std::copy(level[2 * i + 1].begin(), level[2 * i + 1].end(), pair.begin() + 32);
      level[i] = sha256d(pair);
    }
    level.resize(level.size() / 2);
  }
  result.root = level[0];
  return result;
}

} // namespace qtc
