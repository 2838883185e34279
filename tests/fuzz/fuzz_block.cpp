// Fuzz target: arbitrary bytes as a serialized block, decoded and checked.
// Invariants: no crash; a block that decodes without trailing bytes re-encodes to the input.
#include "messages/block.hpp"
#include "runtime/chain/block_check.hpp"

#include <algorithm>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace qtc;
  byte_reader r{std::span{data, size}};
  auto b = read_block(r, 100'000);
  r.expect_end();
  if (!r.ok())
    return 0;
  (void)check_block(b, size, 4'000'000);
  auto again = serialize(b);
  if (again.size() != size || !std::equal(again.begin(), again.end(), data))
    std::abort(); // decoding must be exact: one encoding per block
  return 0;
}
