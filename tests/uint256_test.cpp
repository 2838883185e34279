// 256-bit arithmetic for chain work and retargeting, checked against known values.
#include "messages/primitives/uint256.hpp"
#include "runtime/chain/pow.hpp"

#include <doctest/doctest.h>

using namespace qtc;

namespace {

uint256 from_compact(std::uint32_t bits) {
  return uint256::from_big_endian(decode_compact(bits).value());
}

} // namespace

TEST_CASE("big-endian conversion round-trips") {
  auto t = from_compact(0x1d00ffff);
  CHECK(t.to_hex() == "00000000ffff0000000000000000000000000000000000000000000000000000");
  CHECK(uint256::from_big_endian(t.to_big_endian()) == t);
  CHECK(t.bits() == 224);
  CHECK(uint256{1}.bits() == 1);
  CHECK(uint256{}.bits() == 0);
}

TEST_CASE("arithmetic") {
  uint256 max = ~uint256{};
  CHECK(max + uint256{1} == uint256{}); // wraps
  CHECK(uint256{5} - uint256{7} == max - uint256{1});
  CHECK((uint256{1} << 200 >> 200) == uint256{1});
  CHECK((uint256{3} << 64).to_hex()
        == "0000000000000000000000000000000000000000000000030000000000000000");
  CHECK(uint256{0xffffffffffffffffULL}.times(0xffffffffffffffffULL).to_hex()
        == "00000000000000000000000000000000fffffffffffffffe0000000000000001");
  CHECK(uint256{100} / uint256{7} == uint256{14});
  CHECK((uint256{1} << 255) / (uint256{1} << 100) == uint256{1} << 155);
  CHECK(uint256{5} / uint256{} == uint256{});
  CHECK(uint256{3} < uint256{1} << 64);
}

TEST_CASE("block work matches Bitcoin's values") {
  // Difficulty 1 (bits 0x1d00ffff): 0x100010001 expected hashes per block.
  CHECK(block_work(from_compact(0x1d00ffff)) == uint256{0x100010001ULL});
  // Regtest's easiest target: exactly 2 hashes per block.
  CHECK(block_work(from_compact(0x207fffff)) == uint256{2});
  // A harder target is more work.
  CHECK(block_work(from_compact(0x1b0404cb)) > block_work(from_compact(0x1d00ffff)));
}
