// NAT-PMP (NAT Port Mapping Protocol, RFC 6886): a pure codec, no sockets, no clocks.
//
// PCP's predecessor, still the only gateway protocol of many Apple base stations and older
// routers; the node falls back to it when a gateway answers PCP with version 0. Two exchanges:
// the gateway's external IPv4 address (opcode 0) and a UDP (1) or TCP (2) port mapping. Requests
// go to the gateway's port 5351 (`gateway_port` in pcp_message.hpp).
//
// Responses come as UDP datagrams anyone on the local link can forge or garble, so the decoders
// check the size before every read, the version, the response bit and the opcode, and name the
// field and byte offset of whatever is wrong. An error answer is decoded like a success (RFC 6886
// 3.5: its fields are "set appropriately"), so the caller sees the gateway's reason.
#pragma once

#include "messages/primitives/byte_io.hpp"
#include "runtime/net/ip_address.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace qtc::nat {

constexpr std::uint8_t natpmp_version = 0;
constexpr std::uint8_t natpmp_op_external_address = 0;
constexpr std::uint8_t natpmp_op_map_udp = 1;
constexpr std::uint8_t natpmp_op_map_tcp = 2;
/// A response's opcode is the request's plus 128.
constexpr std::uint8_t natpmp_response_bit = 0x80;
/// version, opcode, 16-bit result, 32-bit seconds since start of epoch
constexpr std::size_t natpmp_response_header_size = 8;
constexpr std::size_t natpmp_external_address_response_size = 12;
constexpr std::size_t natpmp_map_response_size = 16;

/// 2 bytes: version 0, opcode 0.
bytes encode_natpmp_external_address_request();

/// 12 bytes: version 0, `opcode` (natpmp_op_map_udp or natpmp_op_map_tcp), 16 reserved zero
/// bits, internal port, suggested external port (0: no preference), lifetime in seconds (0
/// deletes the mapping; with internal port 0 too, all of this client's mappings).
bytes encode_natpmp_map_request(std::uint8_t opcode, std::uint16_t internal_port,
                                std::uint16_t suggested_external_port, std::uint32_t lifetime);

/// RFC 6886 3.5's result codes.
enum class natpmp_result : std::uint16_t {
  success = 0,
  unsupported_version = 1,
  not_authorized = 2, ///< "Not Authorized/Refused": mapping switched off, or a manual mapping
  network_failure = 3,
  out_of_resources = 4,
  unsupported_opcode = 5,
};

/// "SUCCESS", "UNSUPPORTED_VERSION", "NOT_AUTHORIZED", "NETWORK_FAILURE", "OUT_OF_RESOURCES",
/// "UNSUPPORTED_OPCODE"; codes the RFC does not define: "result 42".
std::string to_string(natpmp_result r);

struct natpmp_external_address_response {
  natpmp_result result = natpmp_result::success; ///< may hold a code the enum does not name
  std::uint16_t raw_result = 0;
  std::uint32_t epoch = 0; ///< the gateway's seconds since its mappings were last lost
  ip_bytes external_ip{};  ///< ::ffff:a.b.c.d
};

struct natpmp_map_response {
  natpmp_result result = natpmp_result::success; ///< may hold a code the enum does not name
  std::uint16_t raw_result = 0;
  std::uint32_t epoch = 0;
  std::uint8_t opcode = 0; ///< the request's: natpmp_op_map_udp or natpmp_op_map_tcp
  std::uint16_t internal_port = 0;
  std::uint16_t mapped_port = 0; ///< the external port granted
  std::uint32_t lifetime = 0;    ///< seconds granted
};

/// Either a response or an error naming what and where, e.g.
/// "NAT-PMP response: opcode 129 at byte 1, expected 128 (external address)".
template <class Response>
struct natpmp_decoded {
  std::optional<Response> response;
  std::string error;
};

/// Decodes the answer to an external address request (12 bytes; more are ignored).
natpmp_decoded<natpmp_external_address_response>
decode_natpmp_external_address_response(std::span<const std::uint8_t> datagram);

/// Decodes the answer to a UDP or TCP map request (16 bytes; more are ignored).
natpmp_decoded<natpmp_map_response>
decode_natpmp_map_response(std::span<const std::uint8_t> datagram);

/// Whether a map response answers a request with this opcode and internal port (NAT-PMP has no
/// nonce: that is all there is to match).
bool answers(const natpmp_map_response& resp, std::uint8_t opcode, std::uint16_t internal_port);

} // namespace qtc::nat
