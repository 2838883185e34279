// STUN codec (RFC 8489, RFC 5780 attributes): bounded parsing of datagrams from untrusted hosts
// and encoding of the few messages the node and its simulator send. See stun_message.hpp.
#include "runtime/nat/stun_message.hpp"

#include "messages/primitives/hex.hpp"

#include <botan/exceptn.h>
#include <botan/mac.h>

#include <algorithm>
#include <cstdio>
#include <string_view>

#include <zlib.h>

namespace qtc::stun {
namespace {

// RFC 8489 14: USERNAME is under 513 bytes; REALM, NONCE, SOFTWARE and the ERROR-CODE reason
// phrase are under 128 characters, which UTF-8 may spell in up to 763 bytes.
constexpr std::size_t max_username = 513;
constexpr std::size_t max_text = 763;
// The RFC 3489 names of OTHER-ADDRESS and RESPONSE-ORIGIN. Classic servers still send them,
// and NAT behaviour discovery against such a server needs the alternate address.
constexpr std::uint16_t changed_address = 0x0005;
constexpr std::uint16_t source_address = 0x0004;
constexpr std::size_t integrity_size = 20; // HMAC-SHA1

void append32(bytes& out, std::uint32_t x) {
  byte_writer w{out};
  w.u16be(static_cast<std::uint16_t>(x >> 16));
  w.u16be(static_cast<std::uint16_t>(x));
}

void set16(bytes& out, std::size_t at, std::uint16_t x) {
  out[at] = static_cast<std::uint8_t>(x >> 8);
  out[at + 1] = static_cast<std::uint8_t>(x);
}

std::size_t padded(std::size_t n) {
  return (n + 3) & ~std::size_t{3};
}

std::uint32_t crc(std::span<const std::uint8_t> d) {
  // A datagram is at most 1500 bytes, so the length always fits zlib's uInt.
  const auto init = ::crc32(0L, Z_NULL, 0);
  return static_cast<std::uint32_t>(::crc32(init, d.data(), static_cast<uInt>(d.size())));
}

// The message type interleaves the 12 method bits with the 2 class bits (RFC 8489 5):
// M11..M7 C1 M6..M4 C0 M3..M0.
std::uint16_t type_of(std::uint16_t method, message_class c) {
  const auto cls = static_cast<std::uint16_t>(c);
  return static_cast<std::uint16_t>((method & 0x000F) | (method & 0x0070) << 1
                                    | (method & 0x0F80) << 2 | (cls & 1) << 4 | (cls & 2) << 7);
}

message_class class_of(std::uint16_t type) {
  return static_cast<message_class>((type >> 7 & 2) | (type >> 4 & 1));
}

std::uint16_t method_of(std::uint16_t type) {
  return static_cast<std::uint16_t>((type & 0x000F) | (type & 0x00E0) >> 1 | (type & 0x3E00) >> 2);
}

/// What addresses are XORed with: the cookie, then (IPv6 only) the transaction id. All zero for
/// the plain address attributes, so one routine reads and writes both kinds.
std::array<std::uint8_t, 16> xor_mask(const transaction_id* id) {
  std::array<std::uint8_t, 16> mask{};
  if (id == nullptr)
    return mask;
  for (int i = 0; i < 4; ++i)
    mask[i] = static_cast<std::uint8_t>(magic_cookie >> (24 - 8 * i));
  std::copy(id->begin(), id->end(), mask.begin() + 4);
  return mask;
}

// ---- encoding ---------------------------------------------------------------------------------

bytes begin_message(std::uint16_t type, const transaction_id& id) {
  bytes out;
  byte_writer w{out};
  w.u16be(type);
  w.u16be(0); // set once the attributes are known
  append32(out, magic_cookie);
  w.fixed(id);
  return out;
}

void append_attribute(bytes& out, std::uint16_t type, std::span<const std::uint8_t> value) {
  byte_writer w{out};
  w.u16be(type);
  w.u16be(static_cast<std::uint16_t>(value.size()));
  w.raw(value);
  out.resize(header_size + padded(out.size() - header_size), 0); // zero padding to 4
}

bytes address_value(const endpoint& e, const transaction_id* xor_id) {
  const auto mask = xor_mask(xor_id);
  const bool v4 = is_ipv4(e.ip);
  bytes v;
  byte_writer w{v};
  w.u8(0);
  w.u8(v4 ? 0x01 : 0x02);
  w.u16be(static_cast<std::uint16_t>(e.port ^ (xor_id ? magic_cookie >> 16 : 0)));
  const std::size_t first = v4 ? 12 : 0; // IPv4 is the last 4 bytes of the mapped form
  for (std::size_t i = first; i < 16; ++i)
    w.u8(static_cast<std::uint8_t>(e.ip[i] ^ mask[i - first]));
  return v;
}

/// FINGERPRINT last: the header length must already count it, since the CRC covers the header.
void finish_with_fingerprint(bytes& out) {
  set16(out, 2, static_cast<std::uint16_t>(out.size() - header_size + 8));
  bytes value;
  append32(value, crc(out) ^ fingerprint_xor);
  append_attribute(out, attr::fingerprint, value);
}

/// At most `max` bytes of `s`, never ending inside a UTF-8 sequence.
std::string_view cut_utf8(std::string_view s, std::size_t max) {
  if (s.size() <= max)
    return s;
  std::size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80)
    --n; // s[n] continues a character that started before the cut: drop that character
  return s.substr(0, n);
}

std::span<const std::uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// ---- decoding ---------------------------------------------------------------------------------

std::string check_header(std::span<const std::uint8_t> d) {
  if (d.size() > max_datagram_size)
    return "too long: " + std::to_string(d.size()) + " bytes, more than the "
           + std::to_string(max_datagram_size) + " a STUN datagram may have";
  if (d.size() < header_size)
    return "too short: " + std::to_string(d.size()) + " bytes, less than the 20-byte header";
  if (const auto type = load_be16(d, 0); type & 0xC000)
    return "not STUN: message type " + hex_number(type, 4) + " has its top two bits set";
  if (const auto cookie = load_be32(d, 4); cookie != magic_cookie)
    return "wrong magic cookie " + hex_number(cookie, 8) + " (expected "
           + hex_number(magic_cookie, 8) + ")";
  const std::size_t length = load_be16(d, 2);
  if (length % 4 != 0)
    return "header length " + std::to_string(length) + " is not a multiple of 4";
  if (length != d.size() - header_size)
    return "header length " + std::to_string(length) + " does not match the "
           + std::to_string(d.size() - header_size) + " bytes after the header";
  return {};
}

/// Decoding state beyond the message itself.
struct parser {
  message m;
  std::vector<std::uint16_t> seen; // only an attribute's first occurrence counts (RFC 8489 14)
  bool after_integrity = false;
  bool after_fingerprint = false;
  std::optional<endpoint> changed, source; // RFC 3489 fallbacks, see finish()
};

std::string read_address(std::span<const std::uint8_t> v, const transaction_id* xor_id,
                         std::optional<endpoint>& out) {
  if (v.size() < 4)
    return "address of " + std::to_string(v.size()) + " bytes has no room for family and port";
  const std::uint8_t family = v[1];
  if (family != 0x01 && family != 0x02)
    return "unknown address family " + hex_number(family, 2);
  const std::size_t want = family == 0x01 ? 8 : 20;
  if (v.size() != want)
    return std::string(family == 0x01 ? "IPv4" : "IPv6") + " address needs length "
           + std::to_string(want) + ", not " + std::to_string(v.size());
  const auto mask = xor_mask(xor_id);
  endpoint e;
  e.port = static_cast<std::uint16_t>(load_be16(v, 2) ^ (xor_id ? magic_cookie >> 16 : 0));
  auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(v[4 + i] ^ mask[i]); };
  if (family == 0x01) {
    e.ip = ipv4(byte(0), byte(1), byte(2), byte(3));
  } else {
    for (std::size_t i = 0; i < 16; ++i)
      e.ip[i] = byte(i);
  }
  out = e;
  return {};
}

std::string read_text(std::span<const std::uint8_t> v, std::size_t max, std::string& out) {
  if (v.size() > max)
    return "text of " + std::to_string(v.size()) + " bytes exceeds the limit of "
           + std::to_string(max);
  out.assign(v.begin(), v.end());
  return {};
}

std::string read_error_code(std::span<const std::uint8_t> v, message& m) {
  if (v.size() < 4)
    return "ERROR-CODE needs at least 4 bytes, not " + std::to_string(v.size());
  const int cls = v[2] & 0x07; // the hundreds digit; the bits above it are reserved
  const int number = v[3];
  if (cls < 3 || cls > 6 || number > 99)
    return "ERROR-CODE class " + std::to_string(cls) + " number " + std::to_string(number)
           + " is not an error code from 300 to 699";
  m.error_code = static_cast<std::uint16_t>(cls * 100 + number);
  return read_text(v.subspan(4), max_text, m.error_reason);
}

std::string read_change_request(std::span<const std::uint8_t> v, message& m) {
  if (v.size() != 4)
    return "CHANGE-REQUEST needs length 4, not " + std::to_string(v.size());
  const auto flags = load_be32(v, 0);
  m.change_ip = (flags & change_ip_flag) != 0;
  m.change_port = (flags & change_port_flag) != 0;
  return {};
}

std::string read_unknown_attributes(std::span<const std::uint8_t> v, message& m) {
  if (v.size() % 2 != 0)
    return "UNKNOWN-ATTRIBUTES length " + std::to_string(v.size()) + " is odd";
  for (std::size_t i = 0; i < v.size(); i += 2)
    m.unknown_attributes.push_back(load_be16(v, i));
  return {};
}

/// The attributes this codec understands; any other below 0x8000 is comprehension-required and
/// is reported so that the caller can reject the message as RFC 8489 7.3 requires.
std::string read_value(parser& p, std::uint16_t type, std::span<const std::uint8_t> v) {
  message& m = p.m;
  switch (type) {
  case attr::xor_mapped_address:
    return read_address(v, &m.id, m.xor_mapped_address);
  case attr::mapped_address:
    return read_address(v, nullptr, m.mapped_address);
  case attr::other_address:
    return read_address(v, nullptr, m.other_address);
  case attr::response_origin:
    return read_address(v, nullptr, m.response_origin);
  case changed_address:
    return read_address(v, nullptr, p.changed);
  case source_address:
    return read_address(v, nullptr, p.source);
  case attr::change_request:
    return read_change_request(v, m);
  case attr::error_code:
    return read_error_code(v, m);
  case attr::unknown_attributes:
    return read_unknown_attributes(v, m);
  case attr::username:
    return read_text(v, max_username, m.username);
  case attr::realm:
    return read_text(v, max_text, m.realm);
  case attr::nonce:
    return read_text(v, max_text, m.nonce);
  case attr::software:
    return read_text(v, max_text, m.software);
  case attr::padding:
    return {}; // RFC 5780 7.6: its content is meaningless
  default:
    if (type < 0x8000)
      m.unknown_required.push_back(type);
    return {};
  }
}

std::string read_fingerprint(parser& p, std::span<const std::uint8_t> v, std::size_t at,
                             std::span<const std::uint8_t> d) {
  if (v.size() != 4)
    return "FINGERPRINT needs length 4, not " + std::to_string(v.size());
  const std::uint32_t want = crc(d.first(at)) ^ fingerprint_xor;
  if (const auto got = load_be32(v, 0); got != want)
    return "FINGERPRINT " + hex_number(got, 8) + " does not match the message's "
           + hex_number(want, 8);
  p.after_fingerprint = true;
  p.m.fingerprint = true;
  return {};
}

/// One attribute at byte `at`, its value already bounded to the datagram.
std::string take_attribute(parser& p, std::uint16_t type, std::span<const std::uint8_t> value,
                           std::size_t at, std::span<const std::uint8_t> d) {
  if (p.after_fingerprint)
    return "follows FINGERPRINT, which must be last";
  if (type == attr::fingerprint)
    return read_fingerprint(p, value, at, d);
  if (p.after_integrity)
    return {}; // RFC 8489 14.5: what follows MESSAGE-INTEGRITY is not covered by it, so ignored
  if (std::find(p.seen.begin(), p.seen.end(), type) != p.seen.end())
    return {};
  p.seen.push_back(type);
  if (type == attr::message_integrity) {
    if (value.size() != integrity_size)
      return "MESSAGE-INTEGRITY needs length 20, not " + std::to_string(value.size());
    p.m.integrity_offset = at;
    p.after_integrity = true;
    return {};
  }
  return read_value(p, type, value);
}

decoded fail(std::string error) {
  return {std::nullopt, std::move(error)};
}

std::string where(std::uint16_t type, std::size_t at) {
  return "attribute " + hex_number(type, 4) + " at byte " + std::to_string(at) + ": ";
}

} // namespace

bytes encode_binding_request(const binding_request& r) {
  bytes out = begin_message(type_of(binding, message_class::request), r.id);
  if (r.change_ip || r.change_port) {
    bytes flags;
    append32(flags, (r.change_ip ? change_ip_flag : 0) | (r.change_port ? change_port_flag : 0));
    append_attribute(out, attr::change_request, flags);
  }
  if (!r.software.empty())
    append_attribute(out, attr::software, as_bytes(cut_utf8(r.software, max_text)));
  finish_with_fingerprint(out);
  return out;
}

bytes encode_binding_success(const transaction_id& id, const endpoint& mapped,
                             std::optional<endpoint> other, std::optional<endpoint> origin) {
  bytes out = begin_message(type_of(binding, message_class::success_response), id);
  append_attribute(out, attr::xor_mapped_address, address_value(mapped, &id));
  if (other)
    append_attribute(out, attr::other_address, address_value(*other, nullptr));
  if (origin)
    append_attribute(out, attr::response_origin, address_value(*origin, nullptr));
  finish_with_fingerprint(out);
  return out;
}

decoded decode(std::span<const std::uint8_t> d) {
  if (auto problem = check_header(d); !problem.empty())
    return fail(std::move(problem));
  parser p;
  p.m.cls = class_of(load_be16(d, 0));
  p.m.method = method_of(load_be16(d, 0));
  std::copy(d.begin() + 8, d.begin() + 20, p.m.id.begin());
  // The header check made the body a multiple of 4, so every attribute starts on a 4-byte
  // boundary with its 4-byte header inside the datagram; only the value can overrun.
  for (std::size_t at = header_size; at < d.size();) {
    const auto type = load_be16(d, at);
    const std::size_t length = load_be16(d, at + 2);
    if (padded(length) > d.size() - at - 4)
      return fail(where(type, at) + "length " + std::to_string(length) + " runs past the message ("
                  + std::to_string(d.size()) + " bytes)");
    if (auto problem = take_attribute(p, type, d.subspan(at + 4, length), at, d); !problem.empty())
      return fail(where(type, at) + problem);
    at += 4 + padded(length);
  }
  if (!p.m.other_address)
    p.m.other_address = p.changed;
  if (!p.m.response_origin)
    p.m.response_origin = p.source;
  return {std::move(p.m), {}};
}

std::optional<endpoint> reported_address(const message& m) {
  return m.xor_mapped_address ? m.xor_mapped_address : m.mapped_address;
}

bool check_integrity(std::span<const std::uint8_t> datagram, const message& m,
                     std::span<const std::uint8_t> key) {
  if (!m.integrity_offset)
    return false;
  const std::size_t at = *m.integrity_offset;
  const std::size_t end = at + 4 + integrity_size;
  if (at < header_size || at % 4 != 0 || end > datagram.size()
      || load_be16(datagram, at) != attr::message_integrity
      || load_be16(datagram, at + 2) != integrity_size)
    return false;
  // The HMAC covers the message as if it ended with MESSAGE-INTEGRITY: the header length is
  // rewritten to stop there, which drops a FINGERPRINT (or anything else) that follows.
  bytes covered(datagram.begin(), datagram.begin() + static_cast<std::ptrdiff_t>(at));
  set16(covered, 2, static_cast<std::uint16_t>(end - header_size));
  try {
    auto hmac = Botan::MessageAuthenticationCode::create_or_throw("HMAC(SHA-1)");
    hmac->set_key(key);
    hmac->update(covered);
    return hmac->verify_mac(datagram.subspan(at + 4, integrity_size)); // constant time
  } catch (const Botan::Exception&) {
    return false; // a key HMAC refuses cannot have produced this MAC
  }
}

} // namespace qtc::stun
