// Hashes of the wire protocol and the chain: double-SHA256 (Botan's SHA-256, SHA-NI when present).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>

namespace qtc {

/// A 256-bit hash in the byte order it is serialized in (the reverse of how it is displayed).
using hash256 = std::array<std::uint8_t, 32>;

/// SHA-256(SHA-256(data)).
hash256 sha256d(std::span<const std::uint8_t> data);

/// The display form: bytes reversed, lowercase hex (as block explorers and Bitcoin Core show it).
std::string to_display_hex(const hash256& h);

/// Parses the display form; false if `hex` is not 64 hex characters.
bool from_display_hex(const std::string& hex, hash256& out);

} // namespace qtc
