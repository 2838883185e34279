// PCP (Port Control Protocol, RFC 6887) version 2, MAP opcode only: a pure codec, no sockets,
// no clocks.
//
// The node asks its gateway to forward the P2P port with a MAP request and reads the answer.
// The answer arrives as a UDP datagram that anyone on the local link can forge or garble, so the
// decoder trusts no length: it checks the datagram's size before every read, insists on what
// RFC 6887 8.3 says a client must check (the R bit, a length that is a multiple of 4 and at
// most 1100 bytes), walks the options after the MAP body with their own bounds, and names the
// field and byte offset of whatever is wrong. Matching an answer to the request (nonce,
// protocol, internal port) is `answers`; checking the sender's address is the caller's job.
//
// A NAT-PMP-only gateway (RFC 6886) answers a PCP request with version 0 and result 1
// (UNSUPPORTED_VERSION). The decoder reports that version separately so the caller can fall
// back to NAT-PMP rather than give up.
#pragma once

#include "messages/primitives/byte_io.hpp"
#include "runtime/net/ip_address.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace qtc::nat {

/// The UDP port PCP (and NAT-PMP) servers listen on.
constexpr std::uint16_t gateway_port = 5351;

constexpr std::uint8_t pcp_version = 2;
constexpr std::uint8_t pcp_opcode_announce = 0;
constexpr std::uint8_t pcp_opcode_map = 1;
/// The response bit, the top bit of the opcode byte.
constexpr std::uint8_t pcp_response_bit = 0x80;
constexpr std::size_t pcp_header_size = 24;
constexpr std::size_t pcp_map_size = pcp_header_size + 36;
/// RFC 6887 7: no PCP message is longer.
constexpr std::size_t pcp_max_size = 1100;

/// The MAP nonce: chosen at random per mapping and repeated on renewal, so that only someone who
/// saw the request can answer (or delete) it.
using pcp_nonce = std::array<std::uint8_t, 12>;

struct pcp_map_request {
  pcp_nonce nonce{};
  std::uint8_t protocol = 6; ///< IANA protocol number: 6 TCP, 17 UDP, 0 all (then port 0)
  std::uint16_t internal_port = 0;
  std::uint16_t suggested_external_port = 0; ///< 0: no preference
  /// All-zero IPv6 (::): no suggestion; for an IPv4 mapping use ::ffff:0.0.0.0 (RFC 6887 11.1).
  ip_bytes suggested_external_ip{};
  ip_bytes client_ip{};       ///< our address toward the gateway (IPv4 as ::ffff:a.b.c.d)
  std::uint32_t lifetime = 0; ///< seconds asked for; 0 deletes the mapping
};

/// 60 bytes: the 24-byte request header (version 2, opcode MAP, lifetime, client address), then
/// the 36-byte MAP body (nonce, protocol, internal port, suggested external port and address).
bytes encode_pcp_map(const pcp_map_request& r);

/// RFC 6887 7.4's result codes.
enum class pcp_result : std::uint8_t {
  success = 0,
  unsupp_version = 1,
  not_authorized = 2,
  malformed_request = 3,
  unsupp_opcode = 4,
  unsupp_option = 5,
  malformed_option = 6,
  network_failure = 7,
  no_resources = 8,
  unsupp_protocol = 9,
  user_ex_quota = 10,
  cannot_provide_external = 11,
  address_mismatch = 12,
  excessive_remote_peers = 13,
};

/// The RFC's names ("SUCCESS", "NOT_AUTHORIZED", ...); codes it does not define: "result 42".
std::string to_string(pcp_result r);

struct pcp_map_response {
  pcp_result result = pcp_result::success; ///< may hold a code the enum does not name
  std::uint8_t raw_result = 0;
  /// Success: the lifetime granted. An error: how long the error is expected to last.
  std::uint32_t lifetime = 0;
  std::uint32_t epoch = 0; ///< the gateway's seconds since its mappings were last lost
  pcp_nonce nonce{};
  std::uint8_t protocol = 0;
  std::uint16_t internal_port = 0;
  std::uint16_t external_port = 0;
  ip_bytes external_ip{};
};

/// Either a response or an error naming what and where, e.g.
/// "PCP response: opcode 0 (ANNOUNCE) at byte 1, expected MAP (1)".
struct pcp_decoded {
  std::optional<pcp_map_response> response;
  std::string error;
  /// Set when the datagram is a response of another version (the error says so too). A
  /// NAT-PMP-only gateway answers with version 0 and result UNSUPPORTED_VERSION: the caller
  /// falls back to NAT-PMP.
  std::optional<std::uint8_t> version_in_error;
};

/// Decodes a MAP response; options after the MAP body are checked for bounds and skipped.
pcp_decoded decode_pcp_map_response(std::span<const std::uint8_t> datagram);

/// Whether a response answers this request (nonce, protocol, internal port match).
bool answers(const pcp_map_response& resp, const pcp_map_request& req);

} // namespace qtc::nat
