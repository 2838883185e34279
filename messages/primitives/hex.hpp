// Hex text for bytes: lowercase, two digits per byte, in byte order.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace qtc {

std::string to_hex(std::span<const std::uint8_t> data);

/// `x` as "0x" and `digits` lowercase hex digits, zero-padded (more if `x` needs them), for
/// error messages naming a field's value: hex_number(0x2112A442, 8) == "0x2112a442".
std::string hex_number(std::uint32_t x, int digits);

/// Parses hex (either case); nothing if the length is odd or a character is not a hex digit.
std::optional<std::vector<std::uint8_t>> from_hex(std::string_view hex);

} // namespace qtc
