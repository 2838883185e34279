// The peer-session protocol logic on an in-memory link: transport handshake, version/verack,
// ping latency, timeouts, violations and the send-queue bound, in explicit (virtual) time.
#include "messages/primitives/hex.hpp"
#include "runtime/session/peer_session_core.hpp"
#include "runtime/transport/channel_select.hpp"

#include <botan/chacha_rng.h>
#include <doctest/doctest.h>

using namespace qtc;
using namespace std::chrono_literals;

namespace {

const network_magic qtcm{0x51, 0x54, 0x43, 0x4d};
using time_point = peer_session_core::time_point;

struct side {
  node_identity id;
  Botan::ChaCha_RNG rng;
  channel_context ctx;
  std::unique_ptr<peer_session_core> core;
  explicit side(std::uint8_t seed)
      : id(node_identity::from_seed(std::array<std::uint8_t, 32>{seed, 7})),
        rng(Botan::secure_vector<std::uint8_t>(32, seed)) {
    ctx.identity = &id;
    ctx.noise_static = noise::keypair::from_private(id.static_private());
    ctx.magic = qtcm;
    ctx.rng = &rng;
  }
  session_settings settings(std::uint64_t nonce) const {
    session_settings s;
    s.magic = qtcm;
    s.local_nonce = nonce;
    s.user_agent = "/test:" + std::to_string(nonce) + "/";
    s.identity = &id;
    return s;
  }
};

/// Two sessions joined by an in-memory link: the initiator `a` and the responder `b`.
struct pair_fixture {
  side a{1}, b{2};
  time_point now{std::chrono::hours{1}};
  std::uint64_t written_a = 0, written_b = 0;

  explicit pair_fixture(session_settings sa = {}, session_settings sb = {}, bool tweak = false) {
    if (!tweak) {
      sa = a.settings(111);
      sb = b.settings(222);
    }
    // Each side proves the identity its channel uses.
    sa.identity = &a.id;
    sb.identity = &b.id;
    a.core = std::make_unique<peer_session_core>(
        sa, channel_role::initiator, make_initiator(transport_kind::noise, a.ctx, std::nullopt),
        net_address{}, 1, now);
    b.core = std::make_unique<peer_session_core>(sb, channel_role::responder,
                                                 std::make_unique<sniffing_responder>(b.ctx),
                                                 net_address{}, 2, now);
    a.core->start(now);
    b.core->start(now);
  }

  /// Delivers bytes both ways until both sides are quiet; the link writes everything at once.
  void pump() {
    for (int i = 0; i < 20; ++i) {
      auto to_b = a.core->take_output(now);
      auto to_a = b.core->take_output(now);
      if (to_b.empty() && to_a.empty())
        return;
      written_a += to_b.size();
      written_b += to_a.size();
      a.core->written(written_a, now);
      b.core->written(written_b, now);
      b.core->received(to_b, now);
      a.core->received(to_a, now);
    }
    FAIL("the sessions kept talking");
  }

  void advance(std::chrono::steady_clock::duration d) {
    now += d;
    a.core->tick(now);
    b.core->tick(now);
    pump();
  }
};

/// A peer written by hand: a bare secure channel facing one session core, so that a test sends
/// exactly the bytes it wants and sees every frame the core sends, in order.
struct bare_peer {
  std::unique_ptr<secure_channel> channel;
  frame_decoder decoder{qtcm, 4'000'000};
  std::vector<std::string> commands;        ///< every frame the core sent, by command
  std::vector<quantumproof_message> proofs; ///< the core's quantumproofs, decoded
  bytes to_core;
  std::uint64_t written = 0;                     ///< what it took from the core (a reading peer)
  transport_error error = transport_error::none; ///< the bare channel's, if it failed

  explicit bare_peer(std::unique_ptr<secure_channel> ch) : channel(std::move(ch)) {
    REQUIRE(channel->start(to_core) == transport_error::none);
  }

  /// Delivers bytes both ways until both sides are quiet.
  void pump(peer_session_core& core, time_point now) {
    for (int i = 0; i < 20; ++i) {
      if (!to_core.empty()) {
        bytes in;
        in.swap(to_core);
        core.received(in, now);
      }
      auto back = core.take_output(now);
      written += back.size();
      core.written(written, now);
      if (back.empty() && to_core.empty())
        return;
      bytes plain;
      if (auto e = channel->receive(back, to_core, plain); e != transport_error::none) {
        error = e;
        return;
      }
      decoder.feed(plain);
      while (auto f = decoder.next()) {
        commands.push_back(f->command);
        if (auto d = decode_message(*f); f->command == "quantumproof")
          proofs.push_back(std::get<quantumproof_message>(d.message));
      }
    }
    FAIL("the peers kept talking");
  }

  /// Frames whatever bytes the test gives as P2P plaintext (well-formed or not).
  void send_plain(const bytes& plain) {
    REQUIRE(channel->send(plain, to_core) == transport_error::none);
  }

  void send(const p2p_message& msg) {
    bytes framed;
    append_message(framed, qtcm, msg);
    send_plain(framed);
  }
};

version_message bare_version() {
  version_message v;
  v.version = 70015;
  v.nonce = 4242;
  v.user_agent = "/bare/";
  return v;
}

/// A responder core and a bare initiator of `kind`, both ready (version and verack exchanged).
struct bare_fixture {
  side a{5}, b{6};
  time_point now{std::chrono::hours{1}};
  std::unique_ptr<peer_session_core> core;
  std::unique_ptr<bare_peer> peer;

  explicit bare_fixture(transport_kind kind, bool ready = true, bool proof = true) {
    core = std::make_unique<peer_session_core>(b.settings(66), channel_role::responder,
                                               std::make_unique<sniffing_responder>(b.ctx),
                                               net_address{}, 6, now);
    core->start(now);
    peer = std::make_unique<bare_peer>(make_initiator(kind, a.ctx, std::nullopt));
    peer->pump(*core, now);
    REQUIRE(peer->channel->established());
    REQUIRE(core->phase() == session_phase::version_handshake);
    if (!proof)
      return;
    // The bare peer's first message is its QuantumProof, as a node's.
    peer->send(
        make_quantumproof(a.id, qtcm, channel_role::initiator, peer->channel->session_binding()));
    peer->pump(*core, now);
    REQUIRE(core->phase() == session_phase::version_handshake);
    if (!ready)
      return;
    peer->send(bare_version());
    peer->send(verack_message{});
    peer->pump(*core, now);
    REQUIRE(core->phase() == session_phase::ready);
    peer->commands.clear();
  }
};

} // namespace

TEST_CASE("peer session: Noise, then version/verack, makes both sides ready") {
  pair_fixture f;
  f.pump();
  REQUIRE(f.a.core->phase() == session_phase::ready);
  REQUIRE(f.b.core->phase() == session_phase::ready);
  CHECK(f.a.core->take_ready());
  CHECK_FALSE(f.a.core->take_ready());
  CHECK(f.b.core->take_ready());
  REQUIRE(f.a.core->peer_version());
  CHECK(f.a.core->peer_version()->user_agent == "/test:222/");
  CHECK(f.b.core->peer_version()->nonce == 111);
  CHECK(f.a.core->channel().kind() == "noise");
  // The peers' sendaddrv2 (sent between version and verack) reaches the node.
  auto msgs = f.a.core->take_messages();
  REQUIRE(msgs.size() == 1);
  CHECK(std::holds_alternative<sendaddrv2_message>(msgs[0]));
}

TEST_CASE("peer session: application messages flow both ways once ready") {
  pair_fixture f;
  f.pump();
  f.a.core->take_messages();
  f.b.core->take_messages();
  getheaders_message gh;
  gh.version = 70015;
  gh.locator.push_back(hash256{});
  f.a.core->send(gh);
  f.b.core->send(inv_message{{inv_item{2, hash256{}}}});
  f.pump();
  auto at_b = f.b.core->take_messages();
  REQUIRE(at_b.size() == 1);
  CHECK(std::get<getheaders_message>(at_b[0]) == gh);
  auto at_a = f.a.core->take_messages();
  REQUIRE(at_a.size() == 1);
  CHECK(std::holds_alternative<inv_message>(at_a[0]));
}

TEST_CASE("peer session: traffic is counted by command, unknown commands as other") {
  pair_fixture f;
  f.pump();
  getheaders_message gh;
  gh.version = 70015;
  gh.locator.push_back(hash256{});
  f.a.core->send(gh);
  f.a.core->send_raw("qtc-unknown", bytes(5, 0x00));
  f.pump();
  const auto& sent = f.a.core->counters().sent_by_command;
  const auto& got = f.b.core->counters().received_by_command;
  auto getheaders = command_label_index("getheaders");
  CHECK(command_label(getheaders) == "getheaders");
  // 24-byte header + version (4) + count (1) + one locator hash (32) + stop hash (32).
  CHECK(sent[getheaders].messages == 1);
  CHECK(sent[getheaders].bytes == 24 + 4 + 1 + 32 + 32);
  CHECK(got[getheaders].messages == 1);
  CHECK(got[getheaders].bytes == sent[getheaders].bytes);
  auto other = command_label_index("qtc-unknown");
  CHECK(other == command_label_count - 1);
  CHECK(command_label(other) == "other");
  CHECK(got[other].messages == 1);
  CHECK(got[other].bytes == 24 + 5);
  // The handshake's frames are counted too: one version and one verack each way.
  for (const char* command : {"version", "verack", "quantumproof"}) {
    CHECK(f.a.core->counters().sent_by_command[command_label_index(command)].messages == 1);
    CHECK(got[command_label_index(command)].messages == 1);
  }
}

TEST_CASE("peer session: ping measures latency and an unanswered ping times out") {
  side a{1}, b{2};
  auto sa = a.settings(1);
  sa.inactivity_timeout = std::chrono::hours{1}; // isolate the ping timeout
  sa.send_stall_timeout = std::chrono::hours{1}; // (nothing here reports bytes written)
  pair_fixture f{sa, b.settings(2), true};
  f.pump();
  // The first tick after ready pings; the answer arrives 30 ms later.
  f.a.core->tick(f.now);
  auto ping = f.a.core->take_output(f.now);
  REQUIRE_FALSE(ping.empty());
  f.now += 30ms;
  f.b.core->received(ping, f.now);
  auto pong = f.b.core->take_output(f.now);
  f.a.core->received(pong, f.now);
  REQUIRE(f.a.core->last_ping());
  CHECK(*f.a.core->last_ping() == 30ms);
  CHECK(*f.a.core->min_ping() == 30ms);
  // Next ping after the interval; this time the responder never sees it.
  f.now += std::chrono::minutes{2};
  f.a.core->tick(f.now);
  (void)f.a.core->take_output(f.now);
  f.now += std::chrono::minutes{19};
  f.a.core->tick(f.now);
  CHECK(f.a.core->phase() == session_phase::ready);
  f.now += std::chrono::minutes{1};
  f.a.core->tick(f.now);
  CHECK(f.a.core->phase() == session_phase::closed);
  CHECK(f.a.core->reason() == close_reason::ping_timeout);
}

TEST_CASE("peer session: a silent responder hits the connect timeout") {
  pair_fixture f;
  // Nothing is delivered: the initiator's first message went out but no answer comes.
  (void)f.a.core->take_output(f.now);
  f.a.core->written(100, f.now);
  CHECK(f.a.core->phase() == session_phase::transport_handshake);
  f.now += 4s;
  f.a.core->tick(f.now);
  CHECK(f.a.core->phase() == session_phase::transport_handshake);
  f.now += 1s;
  f.a.core->tick(f.now);
  CHECK(f.a.core->reason() == close_reason::connect_timeout);
}

TEST_CASE("peer session: a refused connection is connect-failed, a hang-up is peer-closed") {
  {
    pair_fixture f;
    f.a.core->link_down(f.now);
    CHECK(f.a.core->reason() == close_reason::connect_failed);
  }
  {
    pair_fixture f;
    f.pump();
    f.a.core->link_down(f.now);
    CHECK(f.a.core->reason() == close_reason::peer_closed);
  }
  {
    // Hanging up inside the transport handshake is a truncated handshake.
    pair_fixture f;
    auto msg1 = f.a.core->take_output(f.now);
    f.b.core->received(msg1, f.now);
    f.b.core->link_down(f.now);
    CHECK(f.b.core->reason() == close_reason::transport_failed);
    CHECK(f.b.core->transport_failure() == transport_error::truncated);
  }
}

TEST_CASE("peer session: version rules: minimum version, self-connection, order") {
  SUBCASE("too old") {
    side a{1}, b{2};
    auto sa = a.settings(1);
    sa.protocol_version = 70001;
    pair_fixture f{sa, b.settings(2), true};
    f.pump();
    CHECK(f.b.core->reason() == close_reason::version_too_old);
    CHECK(f.b.core->detail() == "protocol version 70001 is below the minimum 70015");
  }
  SUBCASE("self") {
    side a{1}, b{2};
    pair_fixture f{a.settings(5), b.settings(5), true};
    f.pump();
    CHECK(f.b.core->reason() == close_reason::self_connection);
  }
  SUBCASE("message before version") {
    // A bare Noise initiator completes the transport handshake, then sends ping, not version.
    time_point now{std::chrono::hours{1}};
    side a{3}, b{4};
    auto ch_a = make_initiator(transport_kind::noise, a.ctx, std::nullopt);
    peer_session_core core_b{b.settings(9),
                             channel_role::responder,
                             std::make_unique<sniffing_responder>(b.ctx),
                             net_address{},
                             3,
                             now};
    core_b.start(now);
    bytes to_b, to_a, plain;
    REQUIRE(ch_a->start(to_b) == transport_error::none);
    core_b.received(to_b, now);
    to_a = core_b.take_output(now);
    to_b.clear();
    REQUIRE(ch_a->receive(to_a, to_b, plain) == transport_error::none);
    REQUIRE(ch_a->established());
    bytes framed;
    append_message(framed, qtcm, ping_message{1});
    REQUIRE(ch_a->send(framed, to_b) == transport_error::none);
    core_b.received(to_b, now);
    // The first message after the transport must be the peer's QuantumProof.
    CHECK(core_b.reason() == close_reason::quantumproof_missing);
    CHECK(core_b.detail() == "'ping' before the peer's quantumproof");
  }
}

TEST_CASE("peer session: a bad frame after the handshake is a typed wire error") {
  pair_fixture f;
  f.pump();
  // A ping frame with an empty payload (a ping carries 8 bytes), through the real channel.
  f.a.core->send_raw("ping", {});
  f.pump();
  CHECK(f.b.core->reason() == close_reason::wire_error);
  CHECK(f.b.core->detail() == "ping: truncated");
}

TEST_CASE("peer session: a peer that does not read is disconnected at the send-queue bound") {
  side a{1}, b{2};
  auto sa = a.settings(1);
  sa.max_send_queue = 1 << 20;
  pair_fixture f{sa, b.settings(2), true};
  f.pump();
  REQUIRE(f.a.core->phase() == session_phase::ready);
  bytes payload(200'000, 0x42);
  // Nothing is written any more: the link reports no progress.
  for (int i = 0; i < 6 && f.a.core->phase() == session_phase::ready; ++i) {
    f.a.core->send_raw("blob", payload);
    (void)f.a.core->take_output(f.now);
  }
  CHECK(f.a.core->reason() == close_reason::send_queue_full);
  CHECK(f.a.core->pending_output() > (1u << 20));
}

TEST_CASE("peer session: answers may be served while less than serve_ahead waits to be written") {
  side a{1}, b{2};
  auto sa = a.settings(1);
  sa.serve_ahead = 500'000;
  pair_fixture f{sa, b.settings(2), true};
  CHECK_FALSE(f.a.core->may_serve()); // not before the handshake
  f.pump();
  REQUIRE(f.a.core->phase() == session_phase::ready);
  CHECK(f.a.core->may_serve());
  bytes payload(300'000, 0x42);
  f.a.core->send_raw("blob", payload);
  (void)f.a.core->take_output(f.now);
  CHECK(f.a.core->may_serve()); // ~300 kB waiting: below the mark
  f.a.core->send_raw("blob", payload);
  (void)f.a.core->take_output(f.now);
  CHECK_FALSE(f.a.core->may_serve()); // ~600 kB waiting
  // The link wrote everything but the last 100 kB: below the mark again.
  auto total = f.a.core->counters().bytes_sent;
  f.a.core->written(total - 100'000, f.now);
  CHECK(f.a.core->may_serve());
}

TEST_CASE("peer session: version handshake and inactivity timeouts") {
  SUBCASE("version") {
    // The responder never answers version: drop everything it says after the transport.
    pair_fixture f;
    auto msg1 = f.a.core->take_output(f.now);
    f.b.core->received(msg1, f.now);
    auto msg2 = f.b.core->take_output(f.now);
    f.a.core->received(msg2, f.now); // a: established, writes msg3 + version
    REQUIRE(f.a.core->phase() == session_phase::version_handshake);
    (void)f.a.core->take_output(f.now); // lost
    f.now += 9s;
    f.a.core->tick(f.now);
    CHECK(f.a.core->phase() == session_phase::version_handshake);
    f.now += 1s;
    f.a.core->tick(f.now);
    // Nothing arrived after the transport, not even b's proof: the proof's timeout (as long as
    // the version timeout) names it. With the proof in, it is version_timeout (the test below).
    CHECK(f.a.core->reason() == close_reason::quantumproof_timeout);
  }
  SUBCASE("inactivity") {
    pair_fixture f;
    f.pump();
    // b answers nothing at all for 20 minutes (its output is dropped).
    for (int i = 0; i < 20; ++i) {
      f.now += std::chrono::minutes{1};
      f.a.core->tick(f.now);
      f.written_a += f.a.core->take_output(f.now).size(); // written, never answered
      f.a.core->written(f.written_a, f.now);
    }
    CHECK(f.a.core->phase() == session_phase::closed);
    // Inactivity and the ping timeout both fire at 20 minutes; whichever is checked first wins.
    CHECK((f.a.core->reason() == close_reason::inactivity
           || f.a.core->reason() == close_reason::ping_timeout));
  }
}

TEST_CASE("peer session: the version handshake's frames, in order, on each side") {
  SUBCASE("responder: nothing before the peer's version, then version, sendaddrv2, verack") {
    bare_fixture f{transport_kind::noise, false};
    CHECK(f.peer->commands == std::vector<std::string>{"quantumproof"}); // its first message
    f.peer->send(bare_version());
    f.peer->pump(*f.core, f.now);
    CHECK(f.peer->commands
          == std::vector<std::string>{"quantumproof", "version", "sendaddrv2", "verack"});
    CHECK(f.core->phase() == session_phase::version_handshake); // ready on our verack only
    f.peer->send(verack_message{});
    f.peer->pump(*f.core, f.now);
    CHECK(f.core->phase() == session_phase::ready);
  }
  SUBCASE("initiator: version at once, then sendaddrv2 and verack after the peer's version") {
    side a{7}, b{8};
    time_point now{std::chrono::hours{1}};
    peer_session_core core{a.settings(77),
                           channel_role::initiator,
                           make_initiator(transport_kind::noise, a.ctx, std::nullopt),
                           net_address{},
                           7,
                           now};
    core.start(now);
    bare_peer peer{std::make_unique<sniffing_responder>(b.ctx)};
    // The responder has nothing to say first: hand it the initiator's message 1.
    peer.pump(core, now);
    REQUIRE(peer.channel->established());
    CHECK(peer.commands == std::vector<std::string>{"quantumproof", "version"});
    peer.send(
        make_quantumproof(b.id, qtcm, channel_role::responder, peer.channel->session_binding()));
    peer.send(bare_version());
    peer.pump(core, now);
    CHECK(peer.commands
          == std::vector<std::string>{"quantumproof", "version", "sendaddrv2", "verack"});
    peer.send(verack_message{});
    peer.pump(core, now);
    CHECK(core.phase() == session_phase::ready);
  }
}

TEST_CASE("peer session: the version timeout runs from the transport handshake to the verack") {
  // The peer's version (answered) does not restart it: 10 s after the transport handshake
  // completed, a session without the peer's verack ends, checked at the next tick.
  bare_fixture f{transport_kind::noise, false};
  f.now += 5s;
  f.peer->send(bare_version());
  f.peer->pump(*f.core, f.now);
  REQUIRE(f.peer->commands.size() == 4); // quantumproof, version, sendaddrv2, verack
  f.now += 4s;
  f.core->tick(f.now);
  CHECK(f.core->phase() == session_phase::version_handshake);
  f.now += 1s;
  f.core->tick(f.now);
  CHECK(f.core->reason() == close_reason::version_timeout);
  CHECK(f.core->detail() == "no version/verack within 10000 ms");
}

TEST_CASE("peer session: a TLS close_notify is a clean end, peer-closed, answered with ours") {
  SUBCASE("alone") {
    bare_fixture f{transport_kind::tls};
    REQUIRE(f.core->channel().kind() == "tls");
    auto& tls = dynamic_cast<tls_channel&>(*f.peer->channel);
    REQUIRE(tls.close(f.peer->to_core) == transport_error::none);
    f.peer->pump(*f.core, f.now);
    CHECK(f.core->phase() == session_phase::closed);
    CHECK(f.core->reason() == close_reason::peer_closed);
    CHECK(f.core->detail() == "the peer ended the TLS session (close_notify)");
    CHECK(f.core->transport_failure() == transport_error::none);
    CHECK_FALSE(is_violation(f.core->reason()));
    CHECK(tls.peer_closed()); // the core's answer reached the peer
    CHECK(f.peer->error == transport_error::none);
    // The TCP hang-up that follows changes nothing.
    f.core->link_down(f.now);
    CHECK(f.core->reason() == close_reason::peer_closed);
  }
  SUBCASE("after frames in the same bytes: they are taken, nothing more is sent") {
    bare_fixture f{transport_kind::tls};
    auto& tls = dynamic_cast<tls_channel&>(*f.peer->channel);
    f.peer->send(inv_message{{inv_item{2, hash256{}}}});
    f.peer->send(ping_message{9}); // would be answered, but the peer has closed
    REQUIRE(tls.close(f.peer->to_core) == transport_error::none);
    f.peer->pump(*f.core, f.now);
    CHECK(f.core->reason() == close_reason::peer_closed);
    auto msgs = f.core->take_messages();
    REQUIRE(msgs.size() == 1);
    CHECK(std::holds_alternative<inv_message>(msgs[0]));
    CHECK(f.peer->commands.empty()); // no pong after the close_notify
    CHECK(tls.peer_closed());
  }
}

TEST_CASE("peer session: a refused frame header is `command: error` when it names a command") {
  // docs/protocol.md, "Close reasons": the command once the header's command field is valid,
  // `frame` when there is none to name.
  auto detail_for = [](const bytes& plain) {
    bare_fixture f{transport_kind::noise};
    f.peer->send_plain(plain);
    f.peer->pump(*f.core, f.now);
    CHECK(f.core->reason() == close_reason::wire_error);
    return f.core->detail();
  };
  bytes ping;
  append_message(ping, qtcm, ping_message{1});
  SUBCASE("bad checksum, known command") {
    auto bad = ping;
    bad[20] ^= 1;
    CHECK(detail_for(bad) == "ping: bad_checksum");
  }
  SUBCASE("bad checksum, unknown command") {
    bytes frame;
    append_frame(frame, qtcm, "wtxidrelay", bytes{});
    frame[20] ^= 1;
    CHECK(detail_for(frame) == "wtxidrelay: bad_checksum");
  }
  SUBCASE("payload above max_message_size") {
    bytes header;
    append_frame(header, qtcm, "block", bytes{});
    header[16] = 0x01; // length 4,000,001 (0x003d0901)
    header[17] = 0x09;
    header[18] = 0x3d;
    header[19] = 0x00;
    CHECK(detail_for(header) == "block: payload_too_large");
  }
  SUBCASE("wrong magic: no command to name") {
    auto bad = ping;
    bad[0] = 0xf9;
    CHECK(detail_for(bad) == "frame: wrong_magic");
  }
  SUBCASE("malformed command field") {
    auto bad = ping;
    bad[4] = 0x07;
    CHECK(detail_for(bad) == "frame: bad_command");
  }
  SUBCASE("a payload error, for comparison") {
    bytes frame;
    append_frame(frame, qtcm, "ping", bytes(7, 0));
    CHECK(detail_for(frame) == "ping: truncated");
  }
}

/// Two ready sessions; b's peer (a) is rate limited and has no allowance yet.
struct limited_pair : pair_fixture {
  limited_pair() : pair_fixture{side{1}.settings(111), limited(side{2}.settings(222)), true} {
    pump();
    REQUIRE(b.core->phase() == session_phase::ready);
    b.core->take_messages();
  }
  static session_settings limited(session_settings s) {
    s.rate_limited = true;
    return s;
  }
};

TEST_CASE("peer session: rate limits hold unsolicited messages until allowance is granted") {
  limited_pair f;
  // The first tick after ready pings: b holds a's ping (no allowance yet).
  f.advance(std::chrono::seconds{0});
  auto wanted = f.b.core->allowance_wanted();
  REQUIRE(wanted);
  CHECK(wanted->messages == 1);
  CHECK(wanted->bytes == 24 + 8);
  CHECK(f.b.core->counters().holds == 1);

  // Held messages keep their order, answers and getdata behind a held message wait too.
  getheaders_message gh;
  gh.version = 70015;
  gh.locator.push_back(hash256{});
  f.a.core->send(gh);
  f.a.core->send(getdata_message{{{inv_item{2, hash256{}}}}});
  f.a.core->send(inv_message{{inv_item{1, hash256{}}}});
  f.pump();
  CHECK(f.b.core->take_messages().empty());
  CHECK(f.b.core->counters().holds == 1); // still the same hold

  // Enough for the ping and the getheaders only: the getdata is free and follows; the inv waits.
  std::uint64_t gh_bytes = 24 + 1 + 4 + 1 + 32 + 32; // header, count, version, locator, stop
  f.b.core->grant(2, 24 + 8 + gh_bytes, f.now);
  f.pump();
  auto got = f.b.core->take_messages();
  REQUIRE(got.size() == 2);
  CHECK(std::holds_alternative<getheaders_message>(got[0]));
  CHECK(std::holds_alternative<getdata_message>(got[1]));
  wanted = f.b.core->allowance_wanted();
  REQUIRE(wanted);
  CHECK(wanted->messages == 1);
  CHECK(f.a.core->last_ping()); // the held ping was answered once granted

  // Allowance left over from a grant is kept for the next messages.
  f.b.core->grant(10, 10'000, f.now);
  got = f.b.core->take_messages();
  REQUIRE(got.size() == 1);
  CHECK(std::holds_alternative<inv_message>(got[0]));
  CHECK_FALSE(f.b.core->allowance_wanted());
  f.a.core->send(inv_message{{inv_item{1, hash256{}}}});
  f.pump();
  CHECK(f.b.core->take_messages().size() == 1);

  // Answers cost nothing: headers flow without any allowance left.
  f.a.core->send(headers_message{});
  f.pump();
  CHECK(f.b.core->take_messages().size() == 1);
  // Unlimited (the security manager could not be reached): nothing is held any more.
  f.a.core->send(inv_message{{inv_item{1, hash256{}}}});
  f.a.core->send(inv_message{{inv_item{1, hash256{}}}});
  f.pump();
  f.b.core->unlimit(f.now);
  CHECK(f.b.core->take_messages().size() == 2);
  CHECK_FALSE(f.b.core->allowance_wanted());
}

TEST_CASE("peer session: a getheaders continuing a full headers answer is free, once") {
  limited_pair f;
  f.b.core->grant(1, 1000, f.now); // a's first ping, nothing more
  f.advance(std::chrono::seconds{0});
  f.b.core->take_messages();
  REQUIRE_FALSE(f.b.core->allowance_wanted());
  // b serves a full answer (2,000 headers) the way the sync coordinator does: serialized.
  headers_message full;
  for (std::uint32_t i = 0; i < 2000; ++i) {
    block_header h;
    h.time = i;
    full.headers.push_back(h);
  }
  auto payload = encode_payload(p2p_message{full});
  CHECK(last_of_full_headers(payload) == block_hash(full.headers.back()));
  f.b.core->send_raw("headers", payload);
  auto ask_from = [&](const hash256& first) {
    getheaders_message gh;
    gh.version = 70015;
    gh.locator = {first, hash256{}};
    f.a.core->send(gh);
    f.pump();
    return f.b.core->take_messages().size();
  };
  // The continuation passes without allowance; a second one from the same hash, or one from
  // anywhere else, costs (and waits, with no allowance left).
  CHECK(ask_from(block_hash(full.headers.back())) == 1);
  CHECK_FALSE(f.b.core->allowance_wanted());
  CHECK(ask_from(block_hash(full.headers.back())) == 0);
  CHECK(f.b.core->allowance_wanted());
  SUBCASE("a shorter answer opens no continuation") {
    f.b.core->grant(1, 1000, f.now);
    CHECK(f.b.core->take_messages().size() == 1);
    full.headers.pop_back();
    payload = encode_payload(p2p_message{full});
    CHECK_FALSE(last_of_full_headers(payload));
    f.b.core->send_raw("headers", payload);
    CHECK(ask_from(block_hash(full.headers.back())) == 0);
  }
  SUBCASE("malformed locators are not continuations") {
    CHECK_FALSE(first_locator_hash(bytes(36, 0)));
    bytes none{1, 0, 0, 0, 0};
    CHECK_FALSE(first_locator_hash(none));
  }
}

TEST_CASE("peer session: answers and chain-data requests are free, everything else costs") {
  for (auto free :
       {"headers", "block", "blocktxn", "cmpctblock", "notfound", "pong", "getdata", "getblocktxn"})
    CHECK(cost_of(free, 1000).free());
  for (auto costly : {"ping", "inv", "addr", "addrv2", "tx", "getheaders", "getblocks", "getaddr",
                      "sendheaders", "feefilter", "sendcmpct", "mempool", "xyzzy"}) {
    auto c = cost_of(costly, 100);
    CHECK(c.messages == 1);
    CHECK(c.bytes == 124);
  }
}

TEST_CASE("peer session: at most max_handshake_frames other frames before the handshake ends") {
  bare_fixture f{transport_kind::noise, false};
  for (int i = 0; i < 16; ++i) {
    bytes framed;
    append_frame(framed, qtcm, "xyzzy", {});
    f.peer->send_plain(framed);
  }
  f.peer->pump(*f.core, f.now);
  CHECK(f.core->phase() == session_phase::version_handshake);
  bytes framed;
  append_frame(framed, qtcm, "xyzzy", {});
  f.peer->send_plain(framed);
  f.peer->pump(*f.core, f.now);
  CHECK(f.core->phase() == session_phase::closed);
  CHECK(f.core->reason() == close_reason::protocol_violation);
}

TEST_CASE("peer session: a frame trickled in is cut off at frame_timeout") {
  bare_fixture f{transport_kind::noise};
  // A frame announcing 1000 bytes, of which 999 arrive, one every 59 s would do as well.
  bytes framed;
  append_frame(framed, qtcm, "tx", bytes(1000, 0x42));
  framed.pop_back();
  f.peer->send_plain(framed);
  f.peer->pump(*f.core, f.now);
  f.now += 59s;
  f.core->tick(f.now);
  CHECK(f.core->phase() == session_phase::ready);
  f.now += 1s;
  f.core->tick(f.now);
  CHECK(f.core->phase() == session_phase::closed);
  CHECK(f.core->reason() == close_reason::frame_timeout);
  CHECK(f.core->detail() == "1023 bytes of a frame, incomplete after 60 s");
}

TEST_CASE("peer session: a frame completed in time is not cut off, the clock restarts per frame") {
  bare_fixture f{transport_kind::noise};
  for (int i = 0; i < 3; ++i) {
    bytes framed;
    append_message(framed, qtcm, inv_message{{inv_item{1, hash256{}}}});
    bytes second{framed.begin() + 10, framed.end()};
    framed.resize(10);
    f.peer->send_plain(framed);
    f.peer->pump(*f.core, f.now);
    f.now += 50s;
    f.core->tick(f.now);
    f.peer->send_plain(second);
    f.peer->pump(*f.core, f.now);
    CHECK(f.core->take_messages().size() == 1);
  }
  f.now += 50s;
  f.core->tick(f.now);
  CHECK(f.core->phase() == session_phase::ready);
}

TEST_CASE("peer session: next_tick is the earliest thing due, an idle session's next ping") {
  pair_fixture f;
  auto start = f.now;
  CHECK(f.a.core->next_tick() == start + 5s); // connect_timeout
  f.pump();
  REQUIRE(f.a.core->phase() == session_phase::ready);
  // Ready: the first ping is due at once (it measures latency).
  CHECK(f.a.core->next_tick() <= f.now);
  f.advance(0s); // both ping, both pong
  // After traffic, the buffer trim a second later; after that, nothing until the next ping.
  CHECK(f.a.core->next_tick() == f.now + 1s);
  f.now += 1s;
  f.a.core->tick(f.now);
  CHECK(f.a.core->next_tick() == f.now - 1s + std::chrono::minutes{2});
  // Bytes handed to the link after a long silence start the send-stall clock then.
  f.now += 90s;
  f.a.core->send(p2p_message{getaddr_message{}});
  (void)f.a.core->take_output(f.now);
  CHECK(f.a.core->next_tick() == f.now + 1s); // the trim after this traffic
  f.now += 1s;
  f.a.core->tick(f.now);
  CHECK(f.a.core->phase() == session_phase::ready); // not stalled: it waited 1 s, not 91
  // Still unwritten: the next ping (28 s away) comes before the stall (59 s away).
  CHECK(f.a.core->next_tick() == f.now + 28s);
  f.now += 28s;
  f.a.core->tick(f.now);
  (void)f.a.core->take_output(f.now);                // the ping: written no more than the rest
  CHECK(f.a.core->next_tick() == f.now - 29s + 60s); // send_stall_timeout from the hand-over
  f.now += 31s;
  f.a.core->tick(f.now);
  CHECK(f.a.core->reason() == close_reason::send_stalled);
  CHECK(f.a.core->next_tick() == time_point::max());
}

TEST_CASE("peer session: bytes nobody reads for send_stall_timeout end the session") {
  bare_fixture f{transport_kind::noise};
  f.core->tick(f.now); // the first ping: bytes waiting, and the link never says they were written
  (void)f.core->take_output(f.now);
  f.now += 59s;
  f.core->tick(f.now);
  CHECK(f.core->phase() == session_phase::ready);
  // Progress restarts the clock.
  f.core->written(f.peer->written + 10, f.now);
  f.now += 59s;
  f.core->tick(f.now);
  CHECK(f.core->phase() == session_phase::ready);
  f.now += 1s;
  f.core->tick(f.now);
  CHECK(f.core->phase() == session_phase::closed);
  CHECK(f.core->reason() == close_reason::send_stalled);
}

// -- QuantumProof
// ----------------------------------------------------------------------------------

namespace {

/// A responder core and a bare initiator past the transport handshake, the proof not yet sent.
struct proof_fixture {
  bare_fixture f;
  explicit proof_fixture(transport_kind kind = transport_kind::noise) : f(kind, false, false) {}
  /// Sends `proof` and returns the core's phase after it.
  session_phase send(const quantumproof_message& proof) {
    f.peer->send(proof);
    f.peer->pump(*f.core, f.now);
    return f.core->phase();
  }
  quantumproof_message honest() const {
    return make_quantumproof(f.a.id, qtcm, channel_role::initiator,
                             f.peer->channel->session_binding());
  }
};

} // namespace

TEST_CASE("quantumproof: each side's first message, it verifies and names the peer's node id"
          * doctest::test_suite("pq")) {
  for (auto kind : {transport_kind::noise, transport_kind::tls}) {
    CAPTURE(to_string(kind));
    bare_fixture f{kind};
    REQUIRE(f.core->phase() == session_phase::ready);
    REQUIRE(f.core->peer_id());
    CHECK(*f.core->peer_id() == f.a.id.id());
    // The core's own proof, checked as the peer checks it: binds this session, its key, signed.
    REQUIRE(f.peer->proofs.size() == 1);
    const auto& theirs = f.peer->proofs[0];
    CHECK(theirs.public_key == f.b.id.pq_public());
    CHECK(theirs.signature.size() == ml_dsa_signature_size);
    auto binding = f.peer->channel->session_binding();
    CHECK(binding.size() == 32);
    auto v = verify_quantumproof(theirs, qtcm, channel_role::responder, binding,
                                 f.b.id.static_public(), f.b.id.id());
    CHECK(v.result == quantumproof_result::verified);
    CHECK(v.peer_id == f.b.id.id());
    // Reflected back at its signer (the role differs), or on another network: refused.
    CHECK(verify_quantumproof(theirs, qtcm, channel_role::initiator, binding,
                              f.b.id.static_public(), std::nullopt)
              .result
          == quantumproof_result::bad_signature);
    CHECK(verify_quantumproof(theirs, {1, 2, 3, 4}, channel_role::responder, binding,
                              f.b.id.static_public(), std::nullopt)
              .result
          == quantumproof_result::bad_signature);
  }
}

TEST_CASE("quantumproof: replayed, forged, malformed, missing, late or not the pinned id: closed"
          * doctest::test_suite("pq")) {
  SUBCASE("a proof replayed from another session") {
    // Another session of the same two nodes (the fixtures' RNGs are seeded alike, so that one
    // runs over TLS to differ): Alice's genuine proof there, replayed here.
    proof_fixture other{transport_kind::tls};
    auto replayed = other.honest();
    proof_fixture p;
    CHECK(p.send(replayed) == session_phase::closed);
    CHECK(p.f.core->reason() == close_reason::quantumproof_invalid);
    CHECK(p.f.core->detail().find("another session") != std::string::npos);
  }
  SUBCASE("a proof signed by a different ML-DSA key") {
    proof_fixture p;
    auto mallory = node_identity::from_seed(std::array<std::uint8_t, 32>{0x66});
    auto forged = p.honest();
    forged.signature = mallory.sign(quantumproof_signed_message(
        qtcm, channel_role::initiator, forged.binds, p.f.a.id.static_public()));
    CHECK(p.send(forged) == session_phase::closed);
    CHECK(p.f.core->reason() == close_reason::quantumproof_invalid);
    CHECK(p.f.core->detail().find("does not verify") != std::string::npos);
    CHECK(is_violation(p.f.core->reason()));
  }
  SUBCASE("a proof of Mallory's own key for Alice's static key") {
    // Valid for Mallory's ML-DSA key, so it names another node id: not the pinned one.
    proof_fixture p;
    auto mallory = node_identity::from_seed(std::array<std::uint8_t, 32>{0x66});
    auto own = p.honest();
    own.public_key = mallory.pq_public();
    own.signature = mallory.sign(quantumproof_signed_message(qtcm, channel_role::initiator,
                                                             own.binds, p.f.a.id.static_public()));
    auto v = verify_quantumproof(own, qtcm, channel_role::initiator, own.binds,
                                 p.f.a.id.static_public(), p.f.a.id.id());
    CHECK(v.result == quantumproof_result::pin_mismatch);
    CHECK(v.peer_id == node_id_of(p.f.a.id.static_public(), mallory.pq_public()));
  }
  SUBCASE("malformed") {
    proof_fixture p;
    auto bad = p.honest();
    bad.signature.pop_back();
    CHECK(p.send(bad) == session_phase::closed);
    CHECK(p.f.core->reason() == close_reason::quantumproof_malformed);
  }
  SUBCASE("missing: version first") {
    proof_fixture p;
    p.f.peer->send(bare_version());
    p.f.peer->pump(*p.f.core, p.f.now);
    CHECK(p.f.core->reason() == close_reason::quantumproof_missing);
  }
  SUBCASE("late") {
    proof_fixture p;
    p.f.now += default_quantumproof_timeout - 1s;
    p.f.core->tick(p.f.now);
    CHECK(p.f.core->phase() == session_phase::version_handshake);
    p.f.now += 1s;
    p.f.core->tick(p.f.now);
    CHECK(p.f.core->reason() == close_reason::quantumproof_timeout);
  }
}

TEST_CASE("quantumproof: a pinned node id with the wrong ML-DSA key fails both ways"
          * doctest::test_suite("pq")) {
  side a{1}, b{2};
  // The same static key as b, another ML-DSA key: the id an impostor with b's X25519 key has.
  std::array<std::uint8_t, 32> b_seed{2, 7}, other_pq{0x99};
  auto impostor_id = node_identity::from_seeds(b_seed, other_pq).id();
  REQUIRE(impostor_id != b.id.id());
  for (auto [pin, reason] : {std::pair{impostor_id, close_reason::pin_mismatch},
                             std::pair{b.id.id(), close_reason::none}}) {
    auto sa = a.settings(111);
    sa.pinned = pin;
    pair_fixture f{sa, b.settings(222), true};
    f.pump();
    if (reason == close_reason::none) {
      CHECK(f.a.core->phase() == session_phase::ready);
      CHECK(f.a.core->peer_id() == b.id.id());
    } else {
      CHECK(f.a.core->reason() == reason);
      CHECK(f.a.core->detail().find(to_hex(b.id.id())) != std::string::npos);
    }
  }
}
