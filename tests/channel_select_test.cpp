// One port, two transports: the sniffing responder picks Noise or TLS from the first byte, and
// an outbound Noise attempt against a TLS-only peer falls back to TLS with a reason to log.
#include "runtime/transport/channel_select.hpp"

#include <botan/chacha_rng.h>
#include <doctest/doctest.h>

using namespace qtc;

namespace {

const std::array<std::uint8_t, 4> qtcm{0x51, 0x54, 0x43, 0x4d};

struct node {
  node_identity id;
  Botan::ChaCha_RNG rng;
  channel_context ctx;
  explicit node(std::uint8_t seed)
      : id(node_identity::from_seed(std::array<std::uint8_t, 32>{seed, 1, 2, 3})),
        rng(Botan::secure_vector<std::uint8_t>(32, seed)) {
    ctx.identity = &id;
    ctx.noise_static = noise::keypair::from_private(id.static_private());
    ctx.magic = qtcm;
    ctx.rng = &rng;
  }
};

/// Moves bytes both ways until neither side has anything to say; returns the first error, or
/// the initiator's end-of-stream verdict when the responder failed without answering (as a
/// server that closes the connection would).
transport_error pump(secure_channel& initiator, secure_channel& responder) {
  bytes to_r, to_i, sink;
  if (auto e = initiator.start(to_r); e != transport_error::none)
    return e;
  if (auto e = responder.start(to_i); e != transport_error::none)
    return e;
  for (int round = 0; round < 10 && (!to_r.empty() || !to_i.empty()); ++round) {
    bytes next_i;
    if (!to_r.empty()) {
      auto e = responder.receive(to_r, next_i, sink);
      to_r.clear();
      if (e != transport_error::none) {
        // The responder gave up: whatever it managed to say is delivered, then it hangs up.
        if (!next_i.empty())
          if (auto ie = initiator.receive(next_i, to_r, sink); ie != transport_error::none)
            return ie;
        return initiator.end_of_stream();
      }
    }
    to_i.insert(to_i.end(), next_i.begin(), next_i.end());
    if (!to_i.empty()) {
      auto e = initiator.receive(to_i, to_r, sink);
      to_i.clear();
      if (e != transport_error::none)
        return e;
    }
  }
  return transport_error::none;
}

void exchange(secure_channel& a, secure_channel& b) {
  bytes wire, sink, plain;
  bytes msg(100'000, 0x5a);
  REQUIRE(a.send(msg, wire) == transport_error::none);
  REQUIRE(b.receive(wire, sink, plain) == transport_error::none);
  CHECK(plain == msg);
}

} // namespace

TEST_CASE("one port: the responder serves a Noise initiator and a TLS initiator") {
  node server{1};
  SUBCASE("noise") {
    node client{2};
    auto initiator = make_initiator(transport_kind::noise, client.ctx, server.id.static_public());
    sniffing_responder responder{server.ctx};
    CHECK(responder.kind() == "undecided");
    REQUIRE(pump(*initiator, responder) == transport_error::none);
    CHECK(responder.kind() == "noise");
    CHECK(responder.established());
    CHECK(responder.remote_static() == client.id.static_public());
    exchange(*initiator, responder);
    exchange(responder, *initiator);
  }
  SUBCASE("tls") {
    node client{3};
    auto initiator = make_initiator(transport_kind::tls, client.ctx, server.id.static_public());
    sniffing_responder responder{server.ctx};
    REQUIRE(pump(*initiator, responder) == transport_error::none);
    CHECK(responder.kind() == "tls");
    CHECK(responder.established());
    CHECK(responder.remote_static() == client.id.static_public());
    exchange(*initiator, responder);
    exchange(responder, *initiator);
  }
}

TEST_CASE("outbound: Noise first, TLS after a not-Noise failure, TLS directly for tls: peers") {
  CHECK(first_transport(false) == transport_kind::noise);
  CHECK(first_transport(true) == transport_kind::tls);
  CHECK_FALSE(tls_fallback_reason(transport_kind::noise, transport_error::authentication_failed));
  CHECK_FALSE(tls_fallback_reason(transport_kind::noise, transport_error::pin_mismatch));
  CHECK_FALSE(tls_fallback_reason(transport_kind::tls, transport_error::not_noise));

  node server{4}, client{5};
  // A TLS-only peer: it receives a Noise message 1 where it expects a ClientHello.
  auto noise_attempt = make_initiator(transport_kind::noise, client.ctx, server.id.static_public());
  tls_channel tls_only{channel_role::responder, server.id, qtcm, std::nullopt, server.rng};
  auto e = pump(*noise_attempt, tls_only);
  CHECK(e == transport_error::not_noise);
  auto reason = tls_fallback_reason(transport_kind::noise, e);
  REQUIRE(reason);
  CHECK(reason->find("retrying over TLS") != std::string::npos);
  CHECK(tls_only.failure() == transport_error::tls_failure);

  auto tls_attempt = make_initiator(transport_kind::tls, client.ctx, server.id.static_public());
  tls_channel fresh{channel_role::responder, server.id, qtcm, std::nullopt, server.rng};
  REQUIRE(pump(*tls_attempt, fresh) == transport_error::none);
  CHECK(tls_attempt->established());
  exchange(*tls_attempt, fresh);
}

TEST_CASE("one port: a connection closed before its first byte is a truncated handshake") {
  node server{6};
  sniffing_responder responder{server.ctx};
  bytes out;
  REQUIRE(responder.start(out) == transport_error::none);
  CHECK(responder.end_of_stream() == transport_error::truncated);
  CHECK(responder.failure() == transport_error::truncated);
}

TEST_CASE("one port: the first three bytes decide, however the stream is cut") {
  node server{7};
  bytes out, plain;
  SUBCASE("16 03 01..03 is TLS, even one byte at a time") {
    node client{8};
    auto initiator = make_initiator(transport_kind::tls, client.ctx, server.id.static_public());
    sniffing_responder responder{server.ctx};
    bytes hello;
    REQUIRE(initiator->start(hello) == transport_error::none);
    REQUIRE(hello.size() > 3);
    CHECK(hello[0] == 0x16); // our own ClientHello record starts 16 03 01
    CHECK(hello[1] == 0x03);
    CHECK(hello[2] == 0x01);
    REQUIRE(responder.receive(std::span{hello}.first(1), out, plain) == transport_error::none);
    CHECK(responder.kind() == "undecided"); // `16` may begin a TLS record or not
    REQUIRE(responder.receive(std::span{hello}.subspan(1, 1), out, plain) == transport_error::none);
    CHECK(responder.kind() == "undecided");
    CHECK(out.empty());
    REQUIRE(responder.receive(std::span{hello}.subspan(2), out, plain) == transport_error::none);
    CHECK(responder.kind() == "tls");
    // The held bytes reached the TLS server: it answered, and the handshake completes.
    REQUIRE_FALSE(out.empty());
    bytes to_r;
    REQUIRE(initiator->receive(out, to_r, plain) == transport_error::none);
    bytes back;
    REQUIRE(responder.receive(to_r, back, plain) == transport_error::none);
    CHECK(responder.established());
    CHECK(initiator->established());
  }
  SUBCASE("16 04 00 is not TLS: the Noise responder gets it and refuses it") {
    sniffing_responder responder{server.ctx};
    bytes start{0x16, 0x04, 0x00};
    REQUIRE(responder.receive(std::span{start}.first(2), out, plain) == transport_error::none);
    CHECK(responder.kind() == "undecided");
    REQUIRE(responder.receive(std::span{start}.subspan(2), out, plain) == transport_error::none);
    CHECK(responder.kind() == "noise");
    // 16 04 reads as a 5636-byte message 1 (it is 37 bytes): malformed once it has arrived.
    bytes rest(0x1604 - 1, 0x00);
    CHECK(responder.receive(rest, out, plain) == transport_error::malformed_message);
  }
  SUBCASE("16 03 00 (SSL 3.0) and 16 03 04 are not TLS 1.3 ClientHello records either") {
    for (std::uint8_t minor : {std::uint8_t{0x00}, std::uint8_t{0x04}}) {
      sniffing_responder responder{server.ctx};
      bytes start{0x16, 0x03, minor};
      REQUIRE(responder.receive(start, out, plain) == transport_error::none);
      CHECK(responder.kind() == "noise");
    }
  }
  SUBCASE("a first byte other than 16 decides at once") {
    sniffing_responder responder{server.ctx};
    bytes start{0x00};
    REQUIRE(responder.receive(start, out, plain) == transport_error::none);
    CHECK(responder.kind() == "noise");
  }
  SUBCASE("a connection closed before the third byte is a truncated handshake") {
    sniffing_responder responder{server.ctx};
    bytes start{0x16, 0x03};
    REQUIRE(responder.receive(start, out, plain) == transport_error::none);
    CHECK(responder.end_of_stream() == transport_error::truncated);
    CHECK(responder.failure() == transport_error::truncated);
    CHECK(responder.receive(start, out, plain) == transport_error::closed);
  }
}
