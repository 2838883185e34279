// PCP MAP codec (RFC 6887): the request's byte layout with every field offset written out from
// the RFC, the exchanges in Bitcoin Core's PCP tests as independent vectors, and each way a
// response can be malformed.
#include "runtime/nat/pcp_message.hpp"

#include <doctest/doctest.h>

#include <algorithm>

using namespace qtc;
using namespace qtc::nat;

namespace {

constexpr pcp_nonce test_nonce{0x11, 0x22, 0x33, 0x44, 0x55, 0x66,
                               0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc};

/// Bitcoin Core's IPv6 test host, 2a10:1234:5678:9abc:def0:1234:5678:9abc.
constexpr ip_bytes core_ipv6{0x2a, 0x10, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc,
                             0xde, 0xf0, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc};

bytes concat(std::initializer_list<bytes> parts) {
  bytes out;
  for (const auto& p : parts)
    out.insert(out.end(), p.begin(), p.end());
  return out;
}

/// Bitcoin Core's IPv4 request: TCP 1234 -> 1234, 1000 s, from 192.168.0.6, no address preferred.
pcp_map_request core_ipv4_request() {
  pcp_map_request r;
  r.nonce = test_nonce;
  r.protocol = 6;
  r.internal_port = 1234;
  r.suggested_external_port = 1234;
  r.suggested_external_ip = ipv4(0, 0, 0, 0);
  r.client_ip = ipv4(192, 168, 0, 6);
  r.lifetime = 1000;
  return r;
}

const bytes nonce_bytes{0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc};
const bytes zero16(16, 0);

/// The MAP response body of Bitcoin Core's IPv4 success: TCP, 1234 -> 1.2.3.4:1234.
bytes core_ipv4_body() {
  return concat({nonce_bytes,
                 {0x06, 0x00, 0x00, 0x00, 0x04, 0xd2, 0x04, 0xd2},
                 {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0x01, 0x02, 0x03, 0x04}});
}

/// Bitcoin Core's IPv4 success: result 0, 500 s granted, epoch 0.
bytes core_ipv4_success() {
  return concat({{0x02, 0x81, 0x00, 0x00, 0x00, 0x00, 0x01, 0xf4}, zero16, core_ipv4_body()});
}

pcp_decoded decode(const bytes& d) {
  return decode_pcp_map_response(d);
}

/// The error of a datagram that must not decode.
std::string error_of(const bytes& d) {
  auto r = decode(d);
  CHECK_FALSE(r.response);
  CHECK_FALSE(r.version_in_error);
  return r.error;
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

} // namespace

TEST_SUITE_BEGIN("nat");

TEST_CASE("pcp: MAP request fields sit at RFC 6887's offsets") {
  pcp_map_request r;
  for (std::size_t i = 0; i < r.nonce.size(); ++i)
    r.nonce[i] = static_cast<std::uint8_t>(0xa0 + i);
  r.protocol = 17;
  r.internal_port = 0xabcd;
  r.suggested_external_port = 0x1357;
  r.suggested_external_ip = *parse_ip("2001:db8::7");
  r.client_ip = *parse_ip("fd00::1:2");
  r.lifetime = 0x01020304;
  auto out = encode_pcp_map(r);
  REQUIRE(out.size() == 60);
  CHECK(out[0] == 2);    // version
  CHECK(out[1] == 0x01); // R = 0, opcode MAP
  CHECK(out[2] == 0);    // reserved (16 bits)
  CHECK(out[3] == 0);
  CHECK(out[4] == 0x01); // requested lifetime, big-endian
  CHECK(out[5] == 0x02);
  CHECK(out[6] == 0x03);
  CHECK(out[7] == 0x04);
  CHECK(std::equal(r.client_ip.begin(), r.client_ip.end(), out.begin() + 8)); // bytes 8..23
  for (std::size_t i = 0; i < 12; ++i)                                        // nonce 24..35
    CHECK(out[24 + i] == 0xa0 + i);
  CHECK(out[36] == 17); // protocol
  CHECK(out[37] == 0);  // reserved (24 bits)
  CHECK(out[38] == 0);
  CHECK(out[39] == 0);
  CHECK(out[40] == 0xab); // internal port
  CHECK(out[41] == 0xcd);
  CHECK(out[42] == 0x13); // suggested external port
  CHECK(out[43] == 0x57);
  CHECK(std::equal(r.suggested_external_ip.begin(), r.suggested_external_ip.end(),
                   out.begin() + 44)); // bytes 44..59
  CHECK(gateway_port == 5351);
}

TEST_CASE("pcp: MAP requests match Bitcoin Core's IPv4 and IPv6 vectors") {
  const bytes ipv4_expected = concat({
      {0x02, 0x01, 0x00, 0x00, 0x00, 0x00, 0x03, 0xe8},
      {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xc0, 0xa8, 0x00, 0x06},
      nonce_bytes,
      {0x06, 0x00, 0x00, 0x00, 0x04, 0xd2, 0x04, 0xd2},
      {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00},
  });
  CHECK(encode_pcp_map(core_ipv4_request()) == ipv4_expected);

  auto v6 = core_ipv4_request();
  v6.client_ip = core_ipv6;
  v6.suggested_external_ip = core_ipv6;
  const bytes v6_address(core_ipv6.begin(), core_ipv6.end());
  const bytes ipv6_expected = concat({{0x02, 0x01, 0x00, 0x00, 0x00, 0x00, 0x03, 0xe8},
                                      v6_address,
                                      nonce_bytes,
                                      {0x06, 0x00, 0x00, 0x00, 0x04, 0xd2, 0x04, 0xd2},
                                      v6_address});
  CHECK(encode_pcp_map(v6) == ipv6_expected);
}

TEST_CASE("pcp: Bitcoin Core's success responses decode and answer their requests") {
  auto d = decode(core_ipv4_success());
  REQUIRE_MESSAGE(d.response, d.error);
  CHECK(d.error.empty());
  CHECK_FALSE(d.version_in_error);
  const auto& r = *d.response;
  CHECK(r.result == pcp_result::success);
  CHECK(r.raw_result == 0);
  CHECK(r.lifetime == 500);
  CHECK(r.epoch == 0);
  CHECK(r.nonce == test_nonce);
  CHECK(r.protocol == 6);
  CHECK(r.internal_port == 1234);
  CHECK(r.external_port == 1234);
  CHECK(format_endpoint(r.external_ip, r.external_port) == "1.2.3.4:1234");
  CHECK(answers(r, core_ipv4_request()));

  const bytes v6_address(core_ipv6.begin(), core_ipv6.end());
  auto v6 = decode(concat({{0x02, 0x81, 0x00, 0x00, 0x00, 0x00, 0x01, 0xf4},
                           zero16,
                           nonce_bytes,
                           {0x06, 0x00, 0x00, 0x00, 0x04, 0xd2, 0x04, 0xd2},
                           v6_address}));
  REQUIRE_MESSAGE(v6.response, v6.error);
  CHECK(format_endpoint(v6.response->external_ip, v6.response->external_port)
        == "[2a10:1234:5678:9abc:def0:1234:5678:9abc]:1234");
  CHECK(v6.response->lifetime == 500);
}

TEST_CASE("pcp: response header fields sit at RFC 6887's offsets") {
  auto d = core_ipv4_success();
  d[3] = 2;                                               // result
  d[4] = 0x0a, d[5] = 0x0b, d[6] = 0x0c, d[7] = 0x0d;     // lifetime
  d[8] = 0x66, d[9] = 0xfd, d[10] = 0xa1, d[11] = 0xee;   // epoch
  d[40] = 0x12, d[41] = 0x34, d[42] = 0x56, d[43] = 0x78; // internal, external port
  auto r = decode(d);
  REQUIRE_MESSAGE(r.response, r.error);
  CHECK(r.response->result == pcp_result::not_authorized);
  CHECK(r.response->lifetime == 0x0a0b0c0d);
  CHECK(r.response->epoch == 0x66fda1ee);
  CHECK(r.response->internal_port == 0x1234);
  CHECK(r.response->external_port == 0x5678);
}

TEST_CASE("pcp: error results decode, including codes the RFC does not define") {
  // Bitcoin Core's NO_RESOURCES answer: no lifetime, no external port or address.
  auto no_resources = decode(concat({{0x02, 0x81, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00},
                                     zero16,
                                     nonce_bytes,
                                     {0x06, 0x00, 0x00, 0x00, 0x04, 0xd2, 0x00, 0x00},
                                     zero16}));
  REQUIRE_MESSAGE(no_resources.response, no_resources.error);
  CHECK(no_resources.response->result == pcp_result::no_resources);
  CHECK(no_resources.response->raw_result == 8);
  CHECK(no_resources.response->lifetime == 0);
  CHECK(no_resources.response->external_port == 0);
  CHECK(answers(*no_resources.response, core_ipv4_request()));
  CHECK(to_string(no_resources.response->result) == "NO_RESOURCES");

  // Bitcoin Core's protocol-error answer: result 0x42, which no RFC defines.
  auto d = core_ipv4_success();
  d[3] = 0x42;
  auto unknown = decode(d);
  REQUIRE_MESSAGE(unknown.response, unknown.error);
  CHECK(unknown.response->raw_result == 0x42);
  CHECK(unknown.response->result != pcp_result::success);
  CHECK(to_string(unknown.response->result) == "result 66");
}

TEST_CASE("pcp: a NAT-PMP gateway's UNSUPPORTED_VERSION answer is reported for fallback") {
  // Bitcoin Core's downgrade vector: version 0, opcode 0x81, result 1, epoch 0.
  auto d = decode(bytes{0x00, 0x81, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00});
  CHECK_FALSE(d.response);
  REQUIRE(d.version_in_error);
  CHECK(*d.version_in_error == 0);
  CHECK(d.error == "PCP response: version 0 at byte 0, expected 2 (NAT-PMP, result code 1)");

  // RFC 6886 3.5's own form of that answer has opcode 0.
  auto rfc_form = decode(bytes{0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x12, 0x34});
  REQUIRE(rfc_form.version_in_error);
  CHECK(*rfc_form.version_in_error == 0);

  // Another PCP version is reported the same way (without the NAT-PMP hint).
  auto other = core_ipv4_success();
  other[0] = 1;
  other[3] = 1;
  auto v1 = decode(other);
  CHECK_FALSE(v1.response);
  REQUIRE(v1.version_in_error);
  CHECK(*v1.version_in_error == 1);
  CHECK(v1.error == "PCP response: version 1 at byte 0, expected 2 (result code 1)");
}

TEST_CASE("pcp: short, oversize and misaligned datagrams are rejected with their size") {
  CHECK(error_of({}) == "PCP response: 0 bytes, shorter than the 24-byte header");
  CHECK(error_of({0x02, 0x81, 0x00}) == "PCP response: 3 bytes, shorter than the 24-byte header");
  auto header_only = core_ipv4_success();
  header_only.resize(20);
  CHECK(error_of(header_only) == "PCP response: 20 bytes, shorter than the 24-byte header");

  // A header without its MAP body: the result is named, since it says why the gateway refused.
  header_only.resize(24);
  header_only[3] = 2;
  CHECK(error_of(header_only)
        == "PCP response: 24 bytes, shorter than the 60 bytes of a MAP response (result "
           "NOT_AUTHORIZED)");
  auto cut = core_ipv4_success();
  cut.resize(56);
  CHECK(contains(error_of(cut), "56 bytes, shorter than the 60 bytes of a MAP response"));

  auto misaligned = core_ipv4_success();
  misaligned.push_back(0);
  CHECK(error_of(misaligned) == "PCP response: 61 bytes, not a multiple of 4");

  // An option of 1040 bytes makes a well-formed 1104-byte datagram: one word over the limit.
  auto big = core_ipv4_success();
  big.insert(big.end(), {0x80, 0x00, 0x04, 0x10});
  big.resize(1104, 0);
  CHECK(error_of(big) == "PCP response: 1104 bytes, more than the 1100 RFC 6887 allows");
  big.resize(1100);
  big[62] = 0x04, big[63] = 0x0c; // the option shrunk to fit: exactly 1100 is allowed
  CHECK(decode(big).response);
}

TEST_CASE("pcp: requests and other opcodes are not MAP responses") {
  // Our own request echoed back (a gateway reflecting, or a looped socket): no R bit.
  CHECK(error_of(encode_pcp_map(core_ipv4_request()))
        == "PCP response: opcode byte 0x01 at byte 1 lacks the response bit (a request, not a "
           "response)");
  auto announce = core_ipv4_success();
  announce[1] = 0x80;
  CHECK(error_of(announce) == "PCP response: opcode 0 (ANNOUNCE) at byte 1, expected MAP (1)");
  auto peer = core_ipv4_success();
  peer[1] = 0x82;
  CHECK(error_of(peer) == "PCP response: opcode 2 (PEER) at byte 1, expected MAP (1)");
  auto other = core_ipv4_success();
  other[1] = 0xff;
  CHECK(error_of(other) == "PCP response: opcode 127 (unknown) at byte 1, expected MAP (1)");
}

TEST_CASE("pcp: options after the MAP body are bounded and skipped") {
  // THIRD_PARTY-like option 0x01 with 16 bytes, then PREFER_FAILURE (0x02) with no data, then
  // an unknown optional option (0x80) of 5 bytes padded to 8.
  auto with_options = concat({core_ipv4_success(),
                              {0x01, 0x00, 0x00, 0x10},
                              zero16,
                              {0x02, 0x00, 0x00, 0x00},
                              {0x80, 0x00, 0x00, 0x05, 1, 2, 3, 4, 5, 0, 0, 0}});
  auto ok = decode(with_options);
  REQUIRE_MESSAGE(ok.response, ok.error);
  CHECK(ok.response->external_port == 1234);

  // Length 8 with only 4 bytes of data left.
  auto truncated = concat({core_ipv4_success(), {0x80, 0x00, 0x00, 0x08, 1, 2, 3, 4}});
  CHECK(error_of(truncated)
        == "PCP option 128 at byte 60: length 8 runs past the end of the 68-byte response");
  // Length 5 needs 8 with its padding; 4 are there.
  auto unpadded = concat({core_ipv4_success(), {0x80, 0x00, 0x00, 0x05, 1, 2, 3, 4}});
  CHECK(contains(error_of(unpadded), "PCP option 128 at byte 60: length 5 runs past the end"));
  // A good option, then a bad one: the offset names the second.
  auto second =
      concat({core_ipv4_success(), {0x02, 0x00, 0x00, 0x00}, {0x01, 0x00, 0xff, 0xff, 0, 0, 0, 0}});
  CHECK(error_of(second)
        == "PCP option 1 at byte 64: length 65535 runs past the end of the 72-byte response");
}

TEST_CASE("pcp: a request turned into its response round-trips") {
  // RFC 6887 11.1: the MAP response body has the request's layout, the gateway filling in the
  // assigned port and address; the response header replaces the client address with the epoch
  // and reserved bytes.
  auto req = core_ipv4_request();
  req.protocol = 17;
  req.internal_port = 40000;
  req.suggested_external_port = 50000;
  req.suggested_external_ip = ipv4(203, 0, 113, 9);
  auto d = encode_pcp_map(req);
  d[1] |= 0x80;
  std::fill(d.begin() + 8, d.begin() + 24, 0);
  d[11] = 77; // epoch
  auto r = decode(d);
  REQUIRE_MESSAGE(r.response, r.error);
  CHECK(r.response->result == pcp_result::success);
  CHECK(r.response->lifetime == req.lifetime);
  CHECK(r.response->epoch == 77);
  CHECK(r.response->nonce == req.nonce);
  CHECK(r.response->protocol == 17);
  CHECK(r.response->internal_port == 40000);
  CHECK(r.response->external_port == 50000);
  CHECK(r.response->external_ip == req.suggested_external_ip);
  CHECK(answers(*r.response, req));
}

TEST_CASE("pcp: answers rejects another nonce, protocol or internal port") {
  auto r = decode(core_ipv4_success()).response;
  REQUIRE(r);
  auto req = core_ipv4_request();
  CHECK(answers(*r, req));
  auto other_nonce = req;
  other_nonce.nonce[11] ^= 1;
  CHECK_FALSE(answers(*r, other_nonce));
  auto other_protocol = req;
  other_protocol.protocol = 17;
  CHECK_FALSE(answers(*r, other_protocol));
  auto other_port = req;
  other_port.internal_port = 1235;
  CHECK_FALSE(answers(*r, other_port));
  // The suggestion and lifetime are the gateway's to change: they do not decide the match.
  auto other_suggestion = req;
  other_suggestion.suggested_external_port = 9;
  other_suggestion.lifetime = 0;
  CHECK(answers(*r, other_suggestion));
}

TEST_CASE("pcp: result names are RFC 6887's") {
  const char* names[] = {"SUCCESS",           "UNSUPP_VERSION",        "NOT_AUTHORIZED",
                         "MALFORMED_REQUEST", "UNSUPP_OPCODE",         "UNSUPP_OPTION",
                         "MALFORMED_OPTION",  "NETWORK_FAILURE",       "NO_RESOURCES",
                         "UNSUPP_PROTOCOL",   "USER_EX_QUOTA",         "CANNOT_PROVIDE_EXTERNAL",
                         "ADDRESS_MISMATCH",  "EXCESSIVE_REMOTE_PEERS"};
  for (std::uint8_t i = 0; i < 14; ++i)
    CHECK(to_string(static_cast<pcp_result>(i)) == names[i]);
  CHECK(to_string(pcp_result::excessive_remote_peers) == "EXCESSIVE_REMOTE_PEERS");
  CHECK(to_string(static_cast<pcp_result>(14)) == "result 14");
  CHECK(to_string(static_cast<pcp_result>(255)) == "result 255");
}

TEST_SUITE_END();
