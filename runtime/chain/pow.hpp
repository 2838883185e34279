// Proof of work: compact `bits` targets and the hash-below-target check (Bitcoin's rules).
#pragma once

#include "messages/primitives/hash.hpp"
#include "messages/primitives/uint256.hpp"

#include <cstdint>
#include <optional>

namespace qtc {

/// Decodes a compact target: 1 byte exponent, 3 bytes mantissa (sign bit 0x00800000).
/// Nothing for a negative, zero or overflowing encoding — none of which is a valid target.
std::optional<uint256_be> decode_compact(std::uint32_t bits);

/// Encodes a target in compact form (the inverse of decode_compact for valid targets).
std::uint32_t encode_compact(const uint256_be& target);

/// The hash as a big-endian number (a hash256 is stored little-endian).
uint256_be to_number(const hash256& h);

/// The work a header carrying `bits` proves, ⌊2²⁵⁶ / (target + 1)⌋; zero for an invalid
/// encoding.
uint256 work_of_bits(std::uint32_t bits);

/// Whether `hash` meets `bits`, and `bits` is no easier than `pow_limit`.
bool check_proof_of_work(const hash256& hash, std::uint32_t bits, const uint256_be& pow_limit);

} // namespace qtc
