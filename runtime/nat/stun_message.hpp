// STUN messages (RFC 8489) with the NAT-behaviour-discovery attributes of RFC 5780: a pure
// codec, no sockets, no clocks.
//
// The node learns its public address and its NAT's mapping behaviour by asking STUN servers,
// so this parser reads datagrams from arbitrary hosts on the internet. It therefore trusts no
// length: the header length must equal the datagram, every attribute must fit in what is left,
// address attributes must have exactly the size their family implies, and a FINGERPRINT must
// be last and correct. Anything else is rejected with an error naming the field and the byte
// offset, so a log line is enough to tell a broken server from a spoofed packet.
//
// Encoding covers what the node sends (a Binding request, optionally with CHANGE-REQUEST) and
// what a test STUN server in the simulator answers (a Binding success response).
#pragma once

#include "messages/primitives/byte_io.hpp"
#include "runtime/net/ip_address.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace qtc::stun {

constexpr std::uint32_t magic_cookie = 0x2112A442;
/// FINGERPRINT is the CRC-32 XORed with this ("STUN"), so it differs from an inner CRC.
constexpr std::uint32_t fingerprint_xor = 0x5354554e;
constexpr std::size_t header_size = 20;
/// Larger datagrams are rejected unread: a Binding exchange never needs more than a few
/// hundred bytes, and 1500 is the path MTU every STUN implementation assumes.
constexpr std::size_t max_datagram_size = 1500;

using transaction_id = std::array<std::uint8_t, 12>;

enum class message_class : std::uint8_t { request, indication, success_response, error_response };

constexpr std::uint16_t binding = 0x001;

/// Attribute types this codec reads or writes (RFC 8489 18.3, RFC 5780 7).
namespace attr {
constexpr std::uint16_t mapped_address = 0x0001;
constexpr std::uint16_t change_request = 0x0003; // RFC 5780
constexpr std::uint16_t username = 0x0006;
constexpr std::uint16_t message_integrity = 0x0008;
constexpr std::uint16_t error_code = 0x0009;
constexpr std::uint16_t unknown_attributes = 0x000A;
constexpr std::uint16_t realm = 0x0014;
constexpr std::uint16_t nonce = 0x0015;
constexpr std::uint16_t xor_mapped_address = 0x0020;
constexpr std::uint16_t padding = 0x0026; // RFC 5780
constexpr std::uint16_t software = 0x8022;
constexpr std::uint16_t fingerprint = 0x8028;
constexpr std::uint16_t response_origin = 0x802b; // RFC 5780
constexpr std::uint16_t other_address = 0x802c;   // RFC 5780
} // namespace attr

/// CHANGE-REQUEST flag bits (RFC 5780 7.2): "A" asks for another IP, "B" for another port.
constexpr std::uint32_t change_ip_flag = 0x04;
constexpr std::uint32_t change_port_flag = 0x02;

struct endpoint {
  ip_bytes ip{};
  std::uint16_t port = 0;
  bool operator==(const endpoint&) const = default;
};

struct binding_request {
  transaction_id id{};
  bool change_ip = false;
  bool change_port = false;
  std::string software;
};

/// A Binding request: 20-byte header, CHANGE-REQUEST (0x0003) only if a flag is set, SOFTWARE if
/// non-empty (cut to the RFC's 763 bytes at a UTF-8 boundary), FINGERPRINT last.
bytes encode_binding_request(const binding_request& r);

struct message {
  message_class cls = message_class::request;
  std::uint16_t method = 0;
  transaction_id id{};
  std::optional<endpoint> xor_mapped_address, mapped_address, other_address, response_origin;
  std::optional<std::uint16_t> error_code; ///< class * 100 + number, e.g. 420
  std::string error_reason;
  std::string software;
  std::vector<std::uint16_t> unknown_required;   ///< comprehension-required attributes (< 0x8000)
                                                 ///< not understood, each listed once
  std::vector<std::uint16_t> unknown_attributes; ///< UNKNOWN-ATTRIBUTES of a 420 error response
  bool change_ip = false;                        ///< CHANGE-REQUEST "A" flag (for a test server)
  bool change_port = false;                      ///< CHANGE-REQUEST "B" flag (for a test server)
  bool fingerprint = false; ///< present and valid (an invalid one is a decode error)
  std::optional<std::size_t> integrity_offset; ///< where MESSAGE-INTEGRITY starts
  std::string username, realm, nonce;
};

/// Either a message or an error naming what and where, e.g.
/// "attribute 0x0020 at byte 28: length 12 runs past the message (32 bytes)".
struct decoded {
  std::optional<message> msg;
  std::string error;
};

decoded decode(std::span<const std::uint8_t> datagram);

/// The mapped address a response reports: XOR-MAPPED-ADDRESS, else MAPPED-ADDRESS (RFC 3489
/// servers).
std::optional<endpoint> reported_address(const message& m);

/// MESSAGE-INTEGRITY (HMAC-SHA1, RFC 8489 14.5, computed with the header length covering the
/// message up to and including MESSAGE-INTEGRITY) with the given key: the password for
/// short-term credentials, MD5(username ":" realm ":" password) for long-term ones. False when
/// `m` has no MESSAGE-INTEGRITY or `datagram` has no 20-byte MESSAGE-INTEGRITY where `m` says.
/// Pass the datagram `m` was decoded from.
bool check_integrity(std::span<const std::uint8_t> datagram, const message& m,
                     std::span<const std::uint8_t> key);

/// Encodes a success response (for tests and a test STUN server in the simulator):
/// XOR-MAPPED-ADDRESS, optional OTHER-ADDRESS and RESPONSE-ORIGIN, FINGERPRINT.
bytes encode_binding_success(const transaction_id& id, const endpoint& mapped,
                             std::optional<endpoint> other, std::optional<endpoint> origin);

} // namespace qtc::stun
