// NAT-PMP codec (RFC 6886): request layouts with each field offset written out from the RFC,
// the exchanges in Bitcoin Core's PCP tests (which cover NAT-PMP too) as independent vectors,
// and each way a response can be malformed.
#include "runtime/nat/natpmp_message.hpp"

#include <doctest/doctest.h>

using namespace qtc;
using namespace qtc::nat;

namespace {

// Bitcoin Core's NAT-PMP exchange: external address 1.2.3.4, TCP 1234 -> 1234 for 500 s, at
// epoch 0x66fda1ee.
const bytes core_address_response{0x00, 0x80, 0x00, 0x00, 0x66, 0xfd,
                                  0xa1, 0xee, 0x01, 0x02, 0x03, 0x04};
const bytes core_map_response{0x00, 0x82, 0x00, 0x00, 0x66, 0xfd, 0xa1, 0xee,
                              0x04, 0xd2, 0x04, 0xd2, 0x00, 0x00, 0x01, 0xf4};

std::string address_error(const bytes& d) {
  auto r = decode_natpmp_external_address_response(d);
  CHECK_FALSE(r.response);
  return r.error;
}

std::string map_error(const bytes& d) {
  auto r = decode_natpmp_map_response(d);
  CHECK_FALSE(r.response);
  return r.error;
}

} // namespace

TEST_SUITE_BEGIN("nat");

TEST_CASE("natpmp: requests match RFC 6886's layout and Bitcoin Core's vectors") {
  CHECK(encode_natpmp_external_address_request() == bytes{0x00, 0x00});
  CHECK(encode_natpmp_map_request(natpmp_op_map_tcp, 1234, 1234, 1000)
        == bytes{0x00, 0x02, 0x00, 0x00, 0x04, 0xd2, 0x04, 0xd2, 0x00, 0x00, 0x03, 0xe8});

  auto udp = encode_natpmp_map_request(natpmp_op_map_udp, 0xabcd, 0x1357, 0x01020304);
  REQUIRE(udp.size() == 12);
  CHECK(udp[0] == 0); // version
  CHECK(udp[1] == 1); // opcode: map UDP
  CHECK(udp[2] == 0); // reserved (16 bits)
  CHECK(udp[3] == 0);
  CHECK(udp[4] == 0xab); // internal port
  CHECK(udp[5] == 0xcd);
  CHECK(udp[6] == 0x13); // suggested external port
  CHECK(udp[7] == 0x57);
  CHECK(udp[8] == 0x01); // requested lifetime, big-endian
  CHECK(udp[9] == 0x02);
  CHECK(udp[10] == 0x03);
  CHECK(udp[11] == 0x04);

  // RFC 6886 3.4: lifetime 0 with internal port 0 deletes all of the client's TCP mappings.
  CHECK(encode_natpmp_map_request(natpmp_op_map_tcp, 0, 0, 0)
        == bytes{0x00, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
}

TEST_CASE("natpmp: Bitcoin Core's external address response decodes") {
  auto d = decode_natpmp_external_address_response(core_address_response);
  REQUIRE_MESSAGE(d.response, d.error);
  CHECK(d.error.empty());
  CHECK(d.response->result == natpmp_result::success);
  CHECK(d.response->raw_result == 0);
  CHECK(d.response->epoch == 0x66fda1ee);
  CHECK(d.response->external_ip == ipv4(1, 2, 3, 4));
  CHECK(format_ip(d.response->external_ip) == "1.2.3.4");
}

TEST_CASE("natpmp: Bitcoin Core's TCP mapping response decodes and answers its request") {
  auto d = decode_natpmp_map_response(core_map_response);
  REQUIRE_MESSAGE(d.response, d.error);
  const auto& r = *d.response;
  CHECK(r.result == natpmp_result::success);
  CHECK(r.epoch == 0x66fda1ee);
  CHECK(r.opcode == natpmp_op_map_tcp);
  CHECK(r.internal_port == 1234);
  CHECK(r.mapped_port == 1234);
  CHECK(r.lifetime == 500);
  CHECK(answers(r, natpmp_op_map_tcp, 1234));
  CHECK_FALSE(answers(r, natpmp_op_map_udp, 1234));
  CHECK_FALSE(answers(r, natpmp_op_map_tcp, 1235));
}

TEST_CASE("natpmp: mapping response fields sit at RFC 6886's offsets") {
  const bytes udp{0x00, 0x81, 0x00, 0x04, // version, opcode 128 + 1, result OUT_OF_RESOURCES
                  0x00, 0x00, 0x00, 0x2a, // seconds since start of epoch
                  0xab, 0xcd, 0x13, 0x57, // internal port, mapped external port
                  0x01, 0x02, 0x03, 0x04};
  auto d = decode_natpmp_map_response(udp);
  REQUIRE_MESSAGE(d.response, d.error);
  CHECK(d.response->result == natpmp_result::out_of_resources);
  CHECK(d.response->raw_result == 4);
  CHECK(d.response->epoch == 42);
  CHECK(d.response->opcode == natpmp_op_map_udp);
  CHECK(d.response->internal_port == 0xabcd);
  CHECK(d.response->mapped_port == 0x1357);
  CHECK(d.response->lifetime == 0x01020304);
}

TEST_CASE("natpmp: error results decode, including codes the RFC does not define") {
  // Bitcoin Core's protocol-error answers: result 0x42 to the address request, 0x43 to the map.
  auto address = core_address_response;
  address[3] = 0x42;
  auto a = decode_natpmp_external_address_response(address);
  REQUIRE_MESSAGE(a.response, a.error);
  CHECK(a.response->raw_result == 0x42);
  CHECK(a.response->result != natpmp_result::success);
  CHECK(to_string(a.response->result) == "result 66");

  auto map = core_map_response;
  map[3] = 0x43;
  auto m = decode_natpmp_map_response(map);
  REQUIRE_MESSAGE(m.response, m.error);
  CHECK(to_string(m.response->result) == "result 67");

  // The result is 16 bits: a high byte makes it a code of its own, not its low byte's.
  map[2] = 0x01;
  map[3] = 0x02;
  m = decode_natpmp_map_response(map);
  REQUIRE(m.response);
  CHECK(m.response->raw_result == 0x0102);
  CHECK(to_string(m.response->result) == "result 258");

  address[3] = 0x02;
  a = decode_natpmp_external_address_response(address);
  REQUIRE(a.response);
  CHECK(a.response->result == natpmp_result::not_authorized);
}

TEST_CASE("natpmp: short datagrams are rejected with their size") {
  CHECK(address_error({}) == "NAT-PMP response: 0 bytes, shorter than the 8-byte header");
  CHECK(map_error({0x00, 0x82, 0x00, 0x00, 0x66, 0xfd, 0xa1})
        == "NAT-PMP response: 7 bytes, shorter than the 8-byte header");
  auto address = core_address_response;
  address.resize(11);
  CHECK(address_error(address)
        == "NAT-PMP response: 11 bytes, shorter than the 12 bytes of an external address "
           "response (result SUCCESS)");
  // An error answer cut to its header still names the gateway's reason.
  auto map = core_map_response;
  map.resize(8);
  map[3] = 2;
  CHECK(map_error(map)
        == "NAT-PMP response: 8 bytes, shorter than the 16 bytes of a mapping response (result "
           "NOT_AUTHORIZED)");
}

TEST_CASE("natpmp: wrong version, requests and other opcodes are rejected") {
  // A PCP server that does not speak NAT-PMP answers with its own version.
  auto pcp = core_map_response;
  pcp[0] = 2;
  CHECK(map_error(pcp) == "NAT-PMP response: version 2 at byte 0, expected 0");
  auto address = core_address_response;
  address[0] = 1;
  CHECK(address_error(address) == "NAT-PMP response: version 1 at byte 0, expected 0");

  // Our own requests echoed back: no response bit.
  auto echoed = encode_natpmp_map_request(natpmp_op_map_tcp, 1234, 1234, 1000);
  CHECK(map_error(echoed)
        == "NAT-PMP response: opcode byte 0x02 at byte 1 lacks the response bit (a request, not "
           "a response)");
  auto echoed_address = encode_natpmp_external_address_request();
  echoed_address.resize(12, 0);
  CHECK(address_error(echoed_address)
        == "NAT-PMP response: opcode byte 0x00 at byte 1 lacks the response bit (a request, not "
           "a response)");

  // Each decoder takes only its own answers.
  CHECK(address_error(core_map_response)
        == "NAT-PMP response: opcode 130 at byte 1, expected 128 (external address)");
  auto as_map = core_address_response;
  as_map.resize(16, 0);
  CHECK(map_error(as_map)
        == "NAT-PMP response: opcode 128 at byte 1, expected 129 (UDP mapping) or 130 (TCP "
           "mapping)");
  auto unknown = core_map_response;
  unknown[1] = 0x83;
  CHECK(map_error(unknown)
        == "NAT-PMP response: opcode 131 at byte 1, expected 129 (UDP mapping) or 130 (TCP "
           "mapping)");
}

TEST_CASE("natpmp: bytes after the fixed fields are ignored") {
  auto longer = core_map_response;
  longer.insert(longer.end(), {0xde, 0xad, 0xbe, 0xef});
  auto d = decode_natpmp_map_response(longer);
  REQUIRE_MESSAGE(d.response, d.error);
  CHECK(d.response->lifetime == 500);
}

TEST_CASE("natpmp: a request turned into its response round-trips") {
  // RFC 6886 3.3: the mapping response repeats the request's internal port after the header,
  // then the port granted and the lifetime granted.
  auto req = encode_natpmp_map_request(natpmp_op_map_udp, 40000, 50000, 7200);
  bytes resp{req[0], static_cast<std::uint8_t>(req[1] | 0x80), 0, 0, 0, 0, 0, 9};
  resp.insert(resp.end(), req.begin() + 4, req.end());
  auto d = decode_natpmp_map_response(resp);
  REQUIRE_MESSAGE(d.response, d.error);
  CHECK(d.response->epoch == 9);
  CHECK(d.response->opcode == natpmp_op_map_udp);
  CHECK(d.response->internal_port == 40000);
  CHECK(d.response->mapped_port == 50000);
  CHECK(d.response->lifetime == 7200);
  CHECK(answers(*d.response, natpmp_op_map_udp, 40000));
}

TEST_CASE("natpmp: result names are RFC 6886's") {
  CHECK(to_string(natpmp_result::success) == "SUCCESS");
  CHECK(to_string(natpmp_result::unsupported_version) == "UNSUPPORTED_VERSION");
  CHECK(to_string(natpmp_result::not_authorized) == "NOT_AUTHORIZED");
  CHECK(to_string(natpmp_result::network_failure) == "NETWORK_FAILURE");
  CHECK(to_string(natpmp_result::out_of_resources) == "OUT_OF_RESOURCES");
  CHECK(to_string(natpmp_result::unsupported_opcode) == "UNSUPPORTED_OPCODE");
  CHECK(to_string(static_cast<natpmp_result>(6)) == "result 6");
  CHECK(to_string(static_cast<natpmp_result>(65535)) == "result 65535");
}

TEST_SUITE_END();
