// The hybrid Noise handshake (Noise_XXhfs_25519+MLKEM768_ChaChaPoly_BLAKE2s) and its negotiation:
// the hfs patterns, vectors from an independent implementation (JavaScript with @noble's audited
// libraries, tests/interop/noble) in both our BLAKE2s suite and libp2p's SHA256 suite, exact
// handshake sizes, the pq policy matrix, downgrade detection, tampering with the KEM tokens, and
// a man in the middle on real loopback sockets that flips or strips the mode byte.
#include "messages/primitives/hex.hpp"
#include "runtime/transport/channel_select.hpp"
#include "runtime/transport/noise_channel.hpp"
#include "support/loopback.hpp"
#include "support/process.hpp"

#include <botan/chacha_rng.h>
#include <doctest/doctest.h>

#include <functional>
#include <sys/socket.h>
#include <thread>

#include <unistd.h>

using namespace qtc;
using namespace std::chrono_literals;

namespace {

const std::array<std::uint8_t, 4> qtcm{0x51, 0x54, 0x43, 0x4d};

noise::keypair key_of(std::uint8_t x) {
  std::array<std::uint8_t, 32> seed;
  seed.fill(x);
  return noise::keypair::from_private(node_identity::from_seed(seed).static_private());
}

/// One side of a connection: its RNG and its channel.
struct side {
  Botan::ChaCha_RNG rng;
  noise_channel ch;
  side(channel_role role, std::uint8_t seed, pq_policy policy,
       std::optional<noise_mode> mode = std::nullopt)
      : rng(Botan::secure_vector<std::uint8_t>(32, seed)),
        ch(role, key_of(seed), qtcm, std::nullopt, rng, {}, policy, mode) {}
};

struct outcome {
  transport_error initiator = transport_error::none;
  transport_error responder = transport_error::none;
  std::vector<std::size_t> frames; ///< sizes of the frames sent, 2-byte length included
};

using tamper_fn = std::function<void(int flight, bytes& in_flight)>;

void count_frames(const bytes& stream, std::vector<std::size_t>& sizes) {
  for (std::size_t pos = 0; pos + 2 <= stream.size();) {
    std::size_t len = (std::size_t{stream[pos]} << 8) | stream[pos + 1];
    sizes.push_back(2 + len);
    pos += 2 + len;
  }
}

/// Drives two channels in memory, flight by flight, until both are established or one fails (the
/// other then gets what was sent last, or the end of the stream).
outcome drive(noise_channel& initiator, noise_channel& responder, const tamper_fn& tamper = {}) {
  outcome o;
  bytes to_responder, to_initiator, plain;
  CHECK(responder.start(to_initiator) == transport_error::none);
  o.initiator = initiator.start(to_responder);
  for (int flight = 0; flight < 4 && o.initiator == transport_error::none; ++flight) {
    const bool from_initiator = flight % 2 == 0;
    bytes& in = from_initiator ? to_responder : to_initiator;
    if (in.empty())
      break;
    if (tamper)
      tamper(flight, in);
    count_frames(in, o.frames);
    auto& receiver = from_initiator ? responder : initiator;
    auto& other = from_initiator ? initiator : responder;
    auto& receiver_error = from_initiator ? o.responder : o.initiator;
    auto& other_error = from_initiator ? o.initiator : o.responder;
    bytes reply;
    receiver_error = receiver.receive(in, reply, plain);
    in.clear();
    if (receiver_error != transport_error::none) {
      bytes ignored;
      other_error = reply.empty() ? other.end_of_stream() : other.receive(reply, ignored, plain);
      break;
    }
    (from_initiator ? to_initiator : to_responder) = std::move(reply);
  }
  return o;
}

std::size_t sum(const std::vector<std::size_t>& v) {
  std::size_t s = 0;
  for (auto x : v)
    s += x;
  return s;
}

} // namespace

TEST_SUITE_BEGIN("pq");

TEST_CASE(
    "hfs patterns: XXhfs is -> e, e1 / <- e, ee, ekem1, s, es / -> s, se, names are checked") {
  using enum noise::token;
  auto* xx = noise::find_pattern("XXhfs");
  REQUIRE(xx);
  CHECK(xx->messages
        == std::vector<std::vector<noise::token>>{{e, e1}, {e, ee, ekem1, s, es}, {s, se}});
  auto* ik = noise::find_pattern("IKhfs");
  REQUIRE(ik);
  CHECK(ik->messages[0] == std::vector<noise::token>{e, es, e1, s, ss});
  CHECK_FALSE(noise::find_pattern("KKhfs")); // the HFS text contradicts its own rule there
  std::string why;
  CHECK(noise::parse_protocol_name(noise_hybrid_protocol_name, why)->kem);
  CHECK(noise::parse_protocol_name("Noise_XXhfs_25519+MLKEM768_ChaChaPoly_SHA256", why));
  CHECK_FALSE(noise::parse_protocol_name("Noise_XXhfs_25519_ChaChaPoly_BLAKE2s", why));
  CHECK(why.find("25519+MLKEM768") != std::string::npos);
  CHECK_FALSE(noise::parse_protocol_name("Noise_XX_25519+MLKEM768_ChaChaPoly_BLAKE2s", why));
  CHECK_FALSE(noise::parse_protocol_name("Noise_KKhfs_25519+MLKEM768_ChaChaPoly_BLAKE2s", why));
}

TEST_CASE(
    "qtc-noise-vectors passes the XXhfs vectors of the independent JavaScript implementation") {
  // The checked-in copy: BLAKE2s (ours) and SHA256 (libp2p's suite), 4 vectors each.
  const std::string data =
      std::string{QTC_SOURCE_DIR} + "/tests/data/noise_XXhfs_25519+MLKEM768_ChaChaPoly.noble.json";
  test::temp_dir dir;
  test::child_process run{QTC_NOISE_VECTORS, {data}, dir.path() / "run.out"};
  CHECK_MESSAGE(run.wait(60s) == 0, run.output());
  CHECK(run.output().find("8 passed, 0 failed, 0 skipped") != std::string::npos);
  CHECK(run.output().find("XXhfs_25519+MLKEM768_ChaChaPoly_SHA256") != std::string::npos);
}

TEST_CASE("the JavaScript implementation generates hfs vectors now, and they all pass") {
  const std::string noble = std::string{QTC_SOURCE_DIR} + "/tests/interop/noble";
  REQUIRE_MESSAGE(std::filesystem::exists(noble + "/node_modules/@noble/post-quantum"),
                  "run `npm ci` in tests/interop/noble (tools/test.sh does)");
  test::temp_dir dir;
  test::child_process gen{
      "/usr/bin/env", {"node", noble + "/gen_vectors.mjs"}, dir.path() / "vectors.json"};
  REQUIRE_MESSAGE(gen.wait(60s) == 0, gen.output());
  test::child_process run{
      QTC_NOISE_VECTORS, {(dir.path() / "vectors.json").string()}, dir.path() / "run.out"};
  CHECK_MESSAGE(run.wait(60s) == 0, run.output());
  // 8 XXhfs, 10 other hfs patterns, 1 classical XX.
  CHECK(run.output().find("19 passed, 0 failed, 0 skipped") != std::string::npos);
}

TEST_CASE("hybrid handshake: the bytes on the wire are classical + 1184 + 1088 + 16") {
  side hi{channel_role::initiator, 1, pq_policy::required};
  side hr{channel_role::responder, 2, pq_policy::required};
  auto hybrid = drive(hi.ch, hr.ch);
  REQUIRE(hybrid.initiator == transport_error::none);
  REQUIRE(hybrid.responder == transport_error::none);
  CHECK(hi.ch.established());
  CHECK(hr.ch.established());
  CHECK(hi.ch.mode() == noise_mode::hybrid);
  CHECK(hr.ch.mode() == noise_mode::hybrid);
  CHECK(hi.ch.handshake_hash() == hr.ch.handshake_hash());
  // frame 1: length, mode, e, e1, magic || version; frame 2: e, ekem1 + tag, s + tag, payload
  // (21) + tag; frame 3: s + tag, payload + tag.
  CHECK(hybrid.frames
        == std::vector<std::size_t>{2 + 1 + 32 + 1184 + 5, 2 + 32 + 1104 + 48 + 37, 2 + 48 + 37});
  side ci{channel_role::initiator, 1, pq_policy::off};
  side cr{channel_role::responder, 2, pq_policy::off};
  auto classical = drive(ci.ch, cr.ch);
  REQUIRE(classical.responder == transport_error::none);
  CHECK(ci.ch.mode() == noise_mode::classical);
  CHECK(classical.frames
        == std::vector<std::size_t>{2 + 1 + 32 + 5, 2 + 32 + 48 + 37, 2 + 48 + 37});
  CHECK(sum(hybrid.frames) - sum(classical.frames) == 1184 + 1088 + 16);
}

TEST_CASE("pq policy: required refuses off with typed reasons, preferred talks to both") {
  struct row {
    pq_policy initiator, responder;
    transport_error initiator_error, responder_error;
    std::optional<noise_mode> mode;
  };
  using enum pq_policy;
  const auto none = transport_error::none;
  const auto not_pq = transport_error::peer_not_post_quantum;
  const auto needs_pq = transport_error::peer_requires_post_quantum;
  for (const auto& r : std::vector<row>{
           {required, required, none, none, noise_mode::hybrid},
           {required, preferred, none, none, noise_mode::hybrid},
           {preferred, required, none, none, noise_mode::hybrid},
           {preferred, preferred, none, none, noise_mode::hybrid},
           {off, off, none, none, noise_mode::classical},
           {off, preferred, none, none, noise_mode::classical},
           {off, required, needs_pq, not_pq, std::nullopt},
           {required, off, not_pq, needs_pq, std::nullopt},
           {preferred, off, not_pq, needs_pq, std::nullopt}, // then retried classical (below)
       }) {
    CAPTURE(to_string(r.initiator));
    CAPTURE(to_string(r.responder));
    side i{channel_role::initiator, 3, r.initiator};
    side s{channel_role::responder, 4, r.responder};
    auto o = drive(i.ch, s.ch);
    CHECK(o.initiator == r.initiator_error);
    CHECK(o.responder == r.responder_error);
    CHECK(i.ch.established() == r.mode.has_value());
    if (r.mode)
      CHECK(s.ch.mode() == r.mode);
  }
  // The refusal says in words what happened (the close detail and the log line use it).
  CHECK(describe(not_pq).find("requires the hybrid") != std::string::npos);
  // A preferred initiator refused as hybrid retries once in classical mode, and that works.
  CHECK(classical_fallback_reason(preferred, transport_kind::noise, not_pq));
  CHECK_FALSE(classical_fallback_reason(required, transport_kind::noise, not_pq));
  CHECK_FALSE(classical_fallback_reason(preferred, transport_kind::noise_classical, not_pq));
  side i{channel_role::initiator, 3, preferred, noise_mode::classical};
  side s{channel_role::responder, 4, off};
  auto retried = drive(i.ch, s.ch);
  CHECK(retried.initiator == none);
  CHECK(retried.responder == none);
  CHECK(s.ch.established());
}

TEST_CASE("downgrade: a classical handshake between two nodes that speak the hybrid fails") {
  // As after a forged refusal: a preferred initiator retrying classical meets a peer that would
  // have spoken the hybrid. Its authenticated payload says so.
  side i{channel_role::initiator, 5, pq_policy::preferred, noise_mode::classical};
  side r{channel_role::responder, 6, pq_policy::preferred};
  auto o = drive(i.ch, r.ch);
  CHECK(o.initiator == transport_error::downgrade_detected);
  CHECK_FALSE(i.ch.established());
  CHECK_FALSE(r.ch.established());
}

TEST_CASE("hybrid handshake: tampering with the mode, e1 or ekem1 fails the handshake") {
  struct row {
    const char* what;
    int flight;
    std::size_t offset;
    std::uint8_t mask;
    transport_error initiator, responder;
  };
  const auto auth = transport_error::authentication_failed;
  for (const auto& r : std::vector<row>{
           // The required responder refuses "classical"; the refusal names the mode the initiator
           // did send, so the initiator knows its first frame was rewritten.
           {"mode byte 1 -> 0", 0, 2, 0x01, transport_error::downgrade_detected,
            transport_error::peer_not_post_quantum},
           {"a bit of e1", 0, 2 + 1 + 32 + 100, 0x04, auth, transport_error::truncated},
           {"a bit of the ekem1 ciphertext", 1, 2 + 32 + 500, 0x10, auth,
            transport_error::truncated},
           {"a bit of the ekem1 tag", 1, 2 + 32 + 1088 + 3, 0x01, auth, transport_error::truncated},
       }) {
    CAPTURE(std::string{r.what});
    side i{channel_role::initiator, 7, pq_policy::required};
    side s{channel_role::responder, 8, pq_policy::required};
    auto o = drive(i.ch, s.ch, [&](int flight, bytes& b) {
      if (flight == r.flight)
        b.at(r.offset) ^= r.mask;
    });
    CHECK(o.initiator == r.initiator);
    CHECK(o.responder == r.responder);
    CHECK_FALSE(s.ch.established());
  }
  // An e1 that is no ML-KEM-768 encapsulation key (coefficients above q): refused, not used.
  side i{channel_role::initiator, 7, pq_policy::required};
  side s{channel_role::responder, 8, pq_policy::required};
  auto o = drive(i.ch, s.ch, [](int flight, bytes& b) {
    if (flight == 0)
      std::fill_n(b.begin() + 2 + 1 + 32, 384, 0xff);
  });
  CHECK(o.responder == transport_error::malformed_message);
}

namespace {

/// Drives `ch` over a socket until established or failed; the first error, or none.
transport_error drive_socket(int fd, noise_channel& ch) {
  bytes out, plain;
  if (auto e = ch.start(out); e != transport_error::none)
    return e;
  test::send_all(fd, out);
  while (!ch.established()) {
    bytes in;
    auto n = test::receive_some(fd, in, 10s);
    if (n == 0)
      return ch.end_of_stream();
    if (n < 0)
      return transport_error::handshake_timeout;
    bytes reply;
    auto e = ch.receive(in, reply, plain);
    test::send_all(fd, reply);
    if (e != transport_error::none)
      return e;
  }
  return transport_error::none;
}

/// A TCP man in the middle on loopback: rewrites the initiator's first frame with `rewrite`, then
/// relays both ways until either side closes.
void relay(int listener, std::uint16_t server_port, const std::function<bytes(bytes)>& rewrite) {
  int client = ::accept(listener, nullptr, nullptr);
  int server = test::tcp_connect("127.0.0.1", server_port);
  bytes first;
  while (first.size() < 2 || first.size() < 2 + ((std::size_t{first[0]} << 8) | first[1]))
    if (test::receive_some(client, first, 10s) <= 0)
      break;
  test::send_all(server, rewrite(first));
  for (bool open = true; open;) {
    for (auto [from, to] : {std::pair{client, server}, std::pair{server, client}}) {
      bytes chunk;
      auto n = test::receive_some(from, chunk, 20ms);
      if (n == 0) {
        open = false;
        break;
      }
      if (n > 0)
        test::send_all(to, chunk);
    }
  }
  ::close(client);
  ::close(server);
}

} // namespace

TEST_CASE("man in the middle on real sockets: flipping or stripping the mode fails the handshake") {
  // strip: the relay drops e1 and says "classical", with the initiator's own ephemeral key and
  // payload, so the responder sees a well-formed classical message 1. The prologue binds the
  // mode: the two sides no longer agree on the transcript.
  auto strip = [](bytes f) {
    bytes e(f.begin() + 3, f.begin() + 3 + 32);
    bytes payload(f.end() - 5, f.end());
    bytes out{0x00, static_cast<std::uint8_t>(1 + 32 + 5), 0x00};
    out.insert(out.end(), e.begin(), e.end());
    out.insert(out.end(), payload.begin(), payload.end());
    return out;
  };
  auto flip = [](bytes f) {
    f.at(2) ^= 0x01;
    return f;
  };
  for (auto [name, rewrite] : {std::pair{"strip", std::function<bytes(bytes)>{strip}},
                               std::pair{"flip", std::function<bytes(bytes)>{flip}}}) {
    CAPTURE(name);
    std::uint16_t server_port = 0, relay_port = 0;
    int server_listener = test::listen_loopback(server_port);
    int relay_listener = test::listen_loopback(relay_port);
    side i{channel_role::initiator, 9, pq_policy::preferred};
    side r{channel_role::responder, 10, pq_policy::preferred};
    transport_error responder_error = transport_error::none;
    std::thread responder{[&] {
      int fd = ::accept(server_listener, nullptr, nullptr);
      responder_error = drive_socket(fd, r.ch);
      ::close(fd);
    }};
    std::thread mitm{[&] { relay(relay_listener, server_port, rewrite); }};
    int fd = test::tcp_connect("127.0.0.1", relay_port);
    REQUIRE(fd >= 0);
    auto initiator_error = drive_socket(fd, i.ch);
    ::close(fd);
    responder.join();
    mitm.join();
    ::close(server_listener);
    ::close(relay_listener);
    CHECK(initiator_error != transport_error::none);
    CHECK(responder_error != transport_error::none);
    CHECK_FALSE(i.ch.established());
    CHECK_FALSE(r.ch.established());
  }
}

TEST_SUITE_END();
