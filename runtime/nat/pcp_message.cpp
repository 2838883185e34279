// PCP MAP codec (RFC 6887): fixed-offset encoding of the request and bounded decoding of the
// response. See pcp_message.hpp.
#include "runtime/nat/pcp_message.hpp"

#include "messages/primitives/hex.hpp"

#include <cstdio>
#include <iterator>
#include <string_view>

namespace qtc::nat {
namespace {

// Byte offsets in a MAP response (RFC 6887 7.2 header, 11.1 MAP body). Reads use these after
// the datagram's size has been checked against pcp_map_size.
constexpr std::size_t at_version = 0;
constexpr std::size_t at_opcode = 1;
constexpr std::size_t at_result = 3;
constexpr std::size_t at_lifetime = 4;
constexpr std::size_t at_epoch = 8;
constexpr std::size_t at_nonce = 24;
constexpr std::size_t at_protocol = 36;
constexpr std::size_t at_internal_port = 40;
constexpr std::size_t at_external_port = 42;
constexpr std::size_t at_external_ip = 44;
constexpr std::size_t option_header_size = 4;

template <std::size_t N>
std::array<std::uint8_t, N> get_array(std::span<const std::uint8_t> d, std::size_t at) {
  std::array<std::uint8_t, N> out{};
  for (std::size_t i = 0; i < N; ++i)
    out[i] = d[at + i];
  return out;
}

std::string opcode_name(std::uint8_t opcode) {
  switch (opcode) {
  case pcp_opcode_announce:
    return "ANNOUNCE";
  case pcp_opcode_map:
    return "MAP";
  case 2:
    return "PEER";
  default:
    return "unknown";
  }
}

std::string fail_size(std::size_t size, std::string_view what) {
  return "PCP response: " + std::to_string(size) + " bytes, " + std::string{what};
}

/// A response of another version: the version and result fields sit where NAT-PMP put them
/// (byte 0; 16 bits at byte 2), so one message covers both a NAT-PMP gateway and a PCP gateway
/// of another version.
pcp_decoded wrong_version(std::span<const std::uint8_t> d) {
  pcp_decoded out;
  const auto version = d[at_version];
  out.version_in_error = version;
  out.error = "PCP response: version " + std::to_string(version) + " at byte 0, expected "
              + std::to_string(pcp_version) + " (" + (version == 0 ? "NAT-PMP, " : "")
              + "result code " + std::to_string(load_be16(d, 2)) + ")";
  return out;
}

/// The common-header checks of RFC 6887 8.3, in the order that gives the most useful message:
/// size limits first, then the version (so a NAT-PMP answer is recognised as such), then the
/// R bit and opcode. Empty when the header is a MAP response's.
std::optional<pcp_decoded> check_header(std::span<const std::uint8_t> d) {
  auto fail = [](std::string e) { return std::optional<pcp_decoded>{pcp_decoded{{}, e, {}}}; };
  if (d.size() > pcp_max_size)
    return fail(fail_size(d.size(), "more than the 1100 RFC 6887 allows"));
  // Version, opcode and result: enough to tell another version's answer from noise.
  if (d.size() < 4)
    return fail(fail_size(d.size(), "shorter than the 24-byte header"));
  if (d[at_version] != pcp_version)
    return wrong_version(d);
  if (d.size() < pcp_header_size)
    return fail(fail_size(d.size(), "shorter than the 24-byte header"));
  if (d.size() % 4 != 0)
    return fail(fail_size(d.size(), "not a multiple of 4"));
  const auto op = d[at_opcode];
  if ((op & pcp_response_bit) == 0)
    return fail("PCP response: opcode byte " + hex_number(op, 2)
                + " at byte 1 lacks the response bit (a request, not a response)");
  const auto opcode = static_cast<std::uint8_t>(op & ~pcp_response_bit);
  if (opcode != pcp_opcode_map)
    return fail("PCP response: opcode " + std::to_string(opcode) + " (" + opcode_name(opcode)
                + ") at byte 1, expected MAP (1)");
  return std::nullopt;
}

/// Walks the options after the MAP body (RFC 6887 7.3): a 4-byte header (code, reserved,
/// 16-bit length), then the data padded to a multiple of 4. The length excludes the padding,
/// so each step is bounded by the padded length. Empty when every option fits.
std::string skip_options(std::span<const std::uint8_t> d) {
  std::size_t at = pcp_map_size;
  while (at < d.size()) {
    // The multiple-of-4 check makes this unreachable today; it keeps the walk safe on its own.
    if (d.size() - at < option_header_size)
      return "PCP option at byte " + std::to_string(at) + ": header needs 4 bytes, "
             + std::to_string(d.size() - at) + " left";
    const std::size_t length = load_be16(d, at + 2);
    const std::size_t padded = (length + 3) & ~std::size_t{3};
    if (d.size() - at - option_header_size < padded)
      return "PCP option " + std::to_string(d[at]) + " at byte " + std::to_string(at) + ": length "
             + std::to_string(length) + " runs past the end of the " + std::to_string(d.size())
             + "-byte response";
    at += option_header_size + padded;
  }
  return {};
}

pcp_map_response read_map(std::span<const std::uint8_t> d) {
  pcp_map_response r;
  r.raw_result = d[at_result];
  r.result = static_cast<pcp_result>(r.raw_result);
  r.lifetime = load_be32(d, at_lifetime);
  r.epoch = load_be32(d, at_epoch);
  r.nonce = get_array<12>(d, at_nonce);
  r.protocol = d[at_protocol];
  r.internal_port = load_be16(d, at_internal_port);
  r.external_port = load_be16(d, at_external_port);
  r.external_ip = get_array<16>(d, at_external_ip);
  return r;
}

} // namespace

bytes encode_pcp_map(const pcp_map_request& r) {
  bytes out;
  out.reserve(pcp_map_size);
  out.push_back(pcp_version);
  out.push_back(pcp_opcode_map); // R bit clear: a request
  append_be16(out, 0);           // reserved
  append_be32(out, r.lifetime);
  out.insert(out.end(), r.client_ip.begin(), r.client_ip.end());
  out.insert(out.end(), r.nonce.begin(), r.nonce.end());
  out.push_back(r.protocol);
  out.insert(out.end(), 3, 0); // reserved
  append_be16(out, r.internal_port);
  append_be16(out, r.suggested_external_port);
  out.insert(out.end(), r.suggested_external_ip.begin(), r.suggested_external_ip.end());
  return out;
}

std::string to_string(pcp_result r) {
  static constexpr const char* names[] = {
      "SUCCESS",          "UNSUPP_VERSION",        "NOT_AUTHORIZED",   "MALFORMED_REQUEST",
      "UNSUPP_OPCODE",    "UNSUPP_OPTION",         "MALFORMED_OPTION", "NETWORK_FAILURE",
      "NO_RESOURCES",     "UNSUPP_PROTOCOL",       "USER_EX_QUOTA",    "CANNOT_PROVIDE_EXTERNAL",
      "ADDRESS_MISMATCH", "EXCESSIVE_REMOTE_PEERS"};
  const auto code = static_cast<std::size_t>(r);
  if (code < std::size(names))
    return names[code];
  return "result " + std::to_string(code);
}

pcp_decoded decode_pcp_map_response(std::span<const std::uint8_t> datagram) {
  if (auto bad = check_header(datagram))
    return *bad;
  if (datagram.size() < pcp_map_size) {
    // Name the result: an error answer cut short still says why the gateway refused.
    const auto result = static_cast<pcp_result>(datagram[at_result]);
    return {{},
            fail_size(datagram.size(), "shorter than the 60 bytes of a MAP response (result "
                                           + to_string(result) + ")"),
            {}};
  }
  if (auto e = skip_options(datagram); !e.empty())
    return {{}, e, {}};
  return {read_map(datagram), {}, {}};
}

bool answers(const pcp_map_response& resp, const pcp_map_request& req) {
  return resp.nonce == req.nonce && resp.protocol == req.protocol
         && resp.internal_port == req.internal_port;
}

} // namespace qtc::nat
