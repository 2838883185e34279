// NAT-PMP codec (RFC 6886): fixed-offset encoding of the two requests and bounded decoding of
// their responses. See natpmp_message.hpp.
#include "runtime/nat/natpmp_message.hpp"

#include "messages/primitives/hex.hpp"

#include <cstdio>
#include <iterator>
#include <string_view>

namespace qtc::nat {
namespace {

// Byte offsets in a response (RFC 6886 3.2 and 3.3).
constexpr std::size_t at_version = 0;
constexpr std::size_t at_opcode = 1;
constexpr std::size_t at_result = 2;
constexpr std::size_t at_epoch = 4;
constexpr std::size_t at_external_ip = 8;
constexpr std::size_t at_internal_port = 8;
constexpr std::size_t at_mapped_port = 10;
constexpr std::size_t at_lifetime = 12;

std::string fail_size(std::size_t size, std::string_view what) {
  return "NAT-PMP response: " + std::to_string(size) + " bytes, " + std::string{what};
}

/// What a response must have before its body is read: the 8-byte header, version 0, the
/// response bit, an opcode `accept` allows (`expected` names it), then `full_size` bytes. The
/// size check comes last so that an error answer cut short still reports its result code.
/// Empty when all hold.
template <class Accept>
std::string check(std::span<const std::uint8_t> d, Accept accept, std::string_view expected,
                  std::size_t full_size, std::string_view what) {
  if (d.size() < natpmp_response_header_size)
    return fail_size(d.size(), "shorter than the 8-byte header");
  if (d[at_version] != natpmp_version)
    return "NAT-PMP response: version " + std::to_string(d[at_version]) + " at byte 0, expected 0";
  const auto op = d[at_opcode];
  if ((op & natpmp_response_bit) == 0)
    return "NAT-PMP response: opcode byte " + hex_number(op, 2)
           + " at byte 1 lacks the response bit (a request, not a response)";
  if (!accept(op))
    return "NAT-PMP response: opcode " + std::to_string(op) + " at byte 1, expected "
           + std::string{expected};
  if (d.size() < full_size)
    return fail_size(d.size(), "shorter than the " + std::to_string(full_size) + " bytes of "
                                   + std::string{what} + " (result "
                                   + to_string(static_cast<natpmp_result>(load_be16(d, at_result)))
                                   + ")");
  return {};
}

} // namespace

bytes encode_natpmp_external_address_request() {
  return {natpmp_version, natpmp_op_external_address};
}

bytes encode_natpmp_map_request(std::uint8_t opcode, std::uint16_t internal_port,
                                std::uint16_t suggested_external_port, std::uint32_t lifetime) {
  bytes out{natpmp_version, opcode};
  out.reserve(12);
  append_be16(out, 0); // reserved
  append_be16(out, internal_port);
  append_be16(out, suggested_external_port);
  append_be16(out, static_cast<std::uint16_t>(lifetime >> 16));
  append_be16(out, static_cast<std::uint16_t>(lifetime));
  return out;
}

std::string to_string(natpmp_result r) {
  static constexpr const char* names[] = {"SUCCESS",          "UNSUPPORTED_VERSION",
                                          "NOT_AUTHORIZED",   "NETWORK_FAILURE",
                                          "OUT_OF_RESOURCES", "UNSUPPORTED_OPCODE"};
  const auto code = static_cast<std::size_t>(r);
  if (code < std::size(names))
    return names[code];
  return "result " + std::to_string(code);
}

natpmp_decoded<natpmp_external_address_response>
decode_natpmp_external_address_response(std::span<const std::uint8_t> datagram) {
  constexpr auto expected = natpmp_response_bit | natpmp_op_external_address;
  auto e = check(
      datagram, [](std::uint8_t op) { return op == expected; }, "128 (external address)",
      natpmp_external_address_response_size, "an external address response");
  if (!e.empty())
    return {std::nullopt, e};
  natpmp_external_address_response r;
  r.raw_result = load_be16(datagram, at_result);
  r.result = static_cast<natpmp_result>(r.raw_result);
  r.epoch = load_be32(datagram, at_epoch);
  const auto* ip = datagram.data() + at_external_ip;
  r.external_ip = ipv4(ip[0], ip[1], ip[2], ip[3]);
  return {r, {}};
}

natpmp_decoded<natpmp_map_response>
decode_natpmp_map_response(std::span<const std::uint8_t> datagram) {
  auto e = check(
      datagram,
      [](std::uint8_t op) {
        return op == (natpmp_response_bit | natpmp_op_map_udp)
               || op == (natpmp_response_bit | natpmp_op_map_tcp);
      },
      "129 (UDP mapping) or 130 (TCP mapping)", natpmp_map_response_size, "a mapping response");
  if (!e.empty())
    return {std::nullopt, e};
  natpmp_map_response r;
  r.raw_result = load_be16(datagram, at_result);
  r.result = static_cast<natpmp_result>(r.raw_result);
  r.epoch = load_be32(datagram, at_epoch);
  r.opcode = static_cast<std::uint8_t>(datagram[at_opcode] & ~natpmp_response_bit);
  r.internal_port = load_be16(datagram, at_internal_port);
  r.mapped_port = load_be16(datagram, at_mapped_port);
  r.lifetime = load_be32(datagram, at_lifetime);
  return {r, {}};
}

bool answers(const natpmp_map_response& resp, std::uint8_t opcode, std::uint16_t internal_port) {
  return resp.opcode == opcode && resp.internal_port == internal_port;
}

} // namespace qtc::nat
