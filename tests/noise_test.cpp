// The Noise transport: the cacophony vector through qtc-noise-vectors, CipherState rules (rekey,
// nonce exhaustion), the node's channel between two in-memory peers (tamper, replay, reorder,
// truncation, rekey, pinning, network binding, not-Noise detection), node identity files, and
// interoperability with python3-dissononce over real loopback TCP in both roles.
#include "messages/primitives/hex.hpp"
#include "runtime/transport/node_identity.hpp"
#include "runtime/transport/noise_channel.hpp"
#include "support/loopback.hpp"
#include "support/process.hpp"

#include <botan/aead.h>
#include <botan/chacha_rng.h>
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <fstream>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <thread>

#include <poll.h>
#include <unistd.h>

using namespace qtc;
using namespace std::chrono_literals;

namespace {

const std::array<std::uint8_t, 4> qtcm{0x51, 0x54, 0x43, 0x4d};

std::array<std::uint8_t, 32> seed_of(std::uint8_t x) {
  std::array<std::uint8_t, 32> s;
  s.fill(x);
  return s;
}

noise::keypair static_of(const node_identity& id) {
  return noise::keypair::from_private(id.static_private());
}

bytes pattern_bytes(std::size_t n, std::uint8_t salt = 0) {
  bytes b(n);
  for (std::size_t i = 0; i < n; ++i)
    b[i] = static_cast<std::uint8_t>(i * 7 + salt);
  return b;
}

/// Two channels and the bytes in flight between them.
struct pair_fixture {
  Botan::ChaCha_RNG rng_a{Botan::secure_vector<std::uint8_t>(32, 1)};
  Botan::ChaCha_RNG rng_b{Botan::secure_vector<std::uint8_t>(32, 2)};
  node_identity alice = node_identity::from_seed(seed_of(1));
  node_identity bob = node_identity::from_seed(seed_of(2));
  noise_channel initiator;
  noise_channel responder;
  bytes plain_at_initiator, plain_at_responder;

  explicit pair_fixture(std::optional<static_public_key> pin = std::nullopt,
                        noise_handshake_payload a = {}, noise_handshake_payload b = {},
                        std::array<std::uint8_t, 4> responder_magic = qtcm)
      : initiator(channel_role::initiator, static_of(alice), qtcm, pin, rng_a, a),
        responder(channel_role::responder, static_of(bob), responder_magic, std::nullopt, rng_b,
                  b) {}

  /// Runs the handshake; returns the first error either side reported.
  transport_error handshake() {
    bytes to_responder, to_initiator;
    CHECK(responder.start(to_initiator) == transport_error::none);
    if (auto e = initiator.start(to_responder); e != transport_error::none)
      return e;
    for (int round = 0; round < 4 && !(initiator.established() && responder.established());
         ++round) {
      bytes next_to_initiator;
      if (auto e = responder.receive(to_responder, next_to_initiator, plain_at_responder);
          e != transport_error::none)
        return e;
      to_responder.clear();
      if (auto e = initiator.receive(next_to_initiator, to_responder, plain_at_initiator);
          e != transport_error::none)
        return e;
    }
    if (!to_responder.empty())
      if (auto e = responder.receive(to_responder, to_initiator, plain_at_responder);
          e != transport_error::none)
        return e;
    return transport_error::none;
  }
};

/// Splits a byte stream of Noise frames into frames (2-byte length included).
std::vector<bytes> frames_of(const bytes& stream) {
  std::vector<bytes> out;
  std::size_t pos = 0;
  while (pos + 2 <= stream.size()) {
    std::size_t len = (std::size_t{stream[pos]} << 8) | stream[pos + 1];
    out.emplace_back(stream.begin() + static_cast<std::ptrdiff_t>(pos),
                     stream.begin() + static_cast<std::ptrdiff_t>(pos + 2 + len));
    pos += 2 + len;
  }
  return out;
}

// --- blocking loopback TCP for the interop tests (test code may block) ---

using test::listen_loopback;

void send_all(int fd, const bytes& b) {
  REQUIRE(test::send_all(fd, b));
}

/// Drives `ch` over `fd`: echoes every application byte back until `echo_bytes` were echoed.
void serve_echo(int fd, secure_channel& ch, std::size_t echo_bytes) {
  std::size_t echoed = 0;
  bytes out;
  REQUIRE(ch.start(out) == transport_error::none);
  send_all(fd, out);
  while (echoed < echo_bytes) {
    pollfd p{fd, POLLIN, 0};
    REQUIRE_MESSAGE(::poll(&p, 1, 20'000) == 1, "the peer went silent");
    std::uint8_t buf[65536];
    auto n = ::recv(fd, buf, sizeof buf, 0);
    REQUIRE_MESSAGE(n > 0, "the peer closed early");
    bytes reply, plain;
    auto e =
        ch.receive(std::span<const std::uint8_t>(buf, static_cast<std::size_t>(n)), reply, plain);
    REQUIRE_MESSAGE(e == transport_error::none, to_string(e));
    if (!plain.empty())
      REQUIRE(ch.send(plain, reply) == transport_error::none);
    echoed += plain.size();
    send_all(fd, reply);
  }
}

nlohmann::json json_line(const std::string& output) {
  std::istringstream in{output};
  for (std::string line; std::getline(in, line);)
    if (!line.empty() && line.front() == '{')
      return nlohmann::json::parse(line);
  FAIL("no JSON line in the peer's output: " << output);
  return {};
}

/// Waits for the dissononce peer, then checks its report against our side of the session: the
/// echo came back intact and both sides agree on the handshake hash and on who is who.
nlohmann::json check_peer_report(test::child_process& peer, int fd, const noise_channel& ch,
                                 const node_identity& self, const bytes& python_key) {
  auto rc = peer.wait(20s);
  ::close(fd);
  REQUIRE_MESSAGE(rc == 0, peer.output());
  auto j = json_line(peer.output());
  CHECK(j["echo_ok"] == true);
  CHECK(j["handshake_hash"] == to_hex(ch.handshake_hash()));
  CHECK(j["remote_static"] == to_hex(self.static_public()));
  CHECK(ch.remote_static() == noise::keypair::from_private(python_key).public_key);
  return j;
}

std::string peer_script() {
  return std::string{QTC_SOURCE_DIR} + "/tests/interop/dissononce_peer.py";
}

} // namespace

TEST_CASE("qtc-noise-vectors reproduces the cacophony vector and flags a wrong one") {
  test::temp_dir dir;
  auto vectors =
      std::string{QTC_SOURCE_DIR} + "/tests/data/noise_xx_25519_chachapoly_blake2s.cacophony.json";
  auto ok = test::run_to_completion(QTC_NOISE_VECTORS, {vectors});
  CHECK_MESSAGE(ok.exit_code == 0, ok.output);
  CHECK(ok.output.find("PASS") != std::string::npos);
  CHECK(ok.output.find("1 passed, 0 failed") != std::string::npos);
  // One wrong ciphertext byte must fail; an unsupported protocol is skipped, saying so.
  std::ifstream in{vectors};
  auto doc = nlohmann::json::parse(in);
  auto bad = doc;
  auto ct = bad["vectors"][0]["messages"][2]["ciphertext"].get<std::string>();
  ct[10] = ct[10] == '0' ? '1' : '0';
  bad["vectors"][0]["messages"][2]["ciphertext"] = ct;
  auto skipped = doc["vectors"][0];
  skipped["protocol_name"] = "Noise_XXpsk3_25519_ChaChaPoly_BLAKE2s";
  bad["vectors"].push_back(skipped);
  auto file = dir.write("bad.json", bad.dump());
  auto r = test::run_to_completion(QTC_NOISE_VECTORS, {file.string()});
  CHECK(r.exit_code == 1);
  CHECK(r.output.find("FAIL") != std::string::npos);
  CHECK(r.output.find("SKIP") != std::string::npos);
  CHECK(r.output.find("PSK") != std::string::npos);
}

TEST_CASE("qtc-noise-vectors reproduces 120 vectors computed by python3-dissononce") {
  // Every one-way and interactive pattern x {ChaChaPoly, AESGCM} x {BLAKE2s, SHA256, BLAKE2b,
  // SHA512}: the token-list-driven HandshakeState against an independent implementation.
  test::temp_dir dir;
  auto gen = test::run_to_completion(
      "/usr/bin/python3", {std::string{QTC_SOURCE_DIR} + "/tests/interop/dissononce_vectors.py"});
  REQUIRE_MESSAGE(gen.exit_code == 0, gen.output);
  auto file = dir.write("dissononce.json", gen.output);
  auto r = test::run_to_completion(QTC_NOISE_VECTORS, {file.string()});
  CHECK_MESSAGE(r.exit_code == 0, r.output);
  CHECK(r.output.find("120 passed, 0 failed, 0 skipped") != std::string::npos);
}

TEST_CASE("CipherState: Rekey follows the specification and the last nonce is refused") {
  noise::cipher_state c;
  noise::key32 k;
  k.fill(7);
  c.initialize_key(k);
  c.set_nonce(5);
  c.rekey();
  CHECK(c.nonce() == 5); // Rekey() leaves n alone
  // Expected new key: the first 32 bytes of ChaCha20-Poly1305(k, nonce 2^64-1, "", 32 zeros).
  auto aead = Botan::AEAD_Mode::create_or_throw("ChaCha20Poly1305", Botan::Cipher_Dir::Encryption);
  aead->set_key(k.data(), k.size());
  std::array<std::uint8_t, 12> nonce{0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  aead->start(nonce.data(), nonce.size());
  Botan::secure_vector<std::uint8_t> block(32, 0);
  aead->finish(block);
  noise::key32 k2;
  std::copy_n(block.begin(), 32, k2.begin());
  noise::cipher_state expected;
  expected.initialize_key(k2);
  expected.set_nonce(5);
  bytes a, b;
  REQUIRE(c.encrypt_with_ad({}, pattern_bytes(40), a) == noise::cipher_result::ok);
  REQUIRE(expected.encrypt_with_ad({}, pattern_bytes(40), b) == noise::cipher_result::ok);
  CHECK(a == b);

  c.set_nonce(noise::reserved_nonce - 1);
  bytes out;
  CHECK(c.encrypt_with_ad({}, pattern_bytes(4), out) == noise::cipher_result::ok);
  CHECK(c.encrypt_with_ad({}, pattern_bytes(4), out) == noise::cipher_result::nonce_exhausted);
  CHECK(c.decrypt_with_ad({}, bytes(20, 0), out) == noise::cipher_result::nonce_exhausted);
}

TEST_CASE("Noise channel: handshake, identities and multi-frame application data both ways") {
  pair_fixture f;
  REQUIRE(f.handshake() == transport_error::none);
  REQUIRE(f.initiator.established());
  REQUIRE(f.responder.established());
  CHECK(f.initiator.remote_static() == f.bob.static_public());
  CHECK(f.responder.remote_static() == f.alice.static_public());
  CHECK(f.initiator.handshake_hash() == f.responder.handshake_hash());
  CHECK(f.initiator.kind() == "noise");

  // 1 MB: a P2P message larger than any Noise message spans 17 transport messages.
  auto big = pattern_bytes(1'000'000);
  bytes wire;
  REQUIRE(f.initiator.send(big, wire) == transport_error::none);
  CHECK(frames_of(wire).size() == (big.size() + max_noise_plaintext - 1) / max_noise_plaintext);
  bytes back, plain;
  // Delivered in awkward pieces: 1 byte, then 1000, then the rest.
  REQUIRE(f.responder.receive(std::span{wire}.first(1), back, plain) == transport_error::none);
  REQUIRE(f.responder.receive(std::span{wire}.subspan(1, 1000), back, plain)
          == transport_error::none);
  REQUIRE(f.responder.receive(std::span{wire}.subspan(1001), back, plain) == transport_error::none);
  CHECK(plain == big);
  CHECK(back.empty());
  bytes reply_wire, reply;
  REQUIRE(f.responder.send(pattern_bytes(70, 3), reply_wire) == transport_error::none);
  REQUIRE(f.initiator.receive(reply_wire, back, reply) == transport_error::none);
  CHECK(reply == pattern_bytes(70, 3));
  CHECK(f.responder.end_of_stream() == transport_error::none);
}

TEST_CASE("Noise channel: keeps what the session needs of the handshake and gives back an empty "
          "receive buffer that a large message grew") {
  pair_fixture f;
  REQUIRE(f.handshake() == transport_error::none);
  // The handshake state is gone once established; its results stay.
  CHECK(f.responder.remote_static() == f.alice.static_public());
  CHECK(f.initiator.session_binding() == f.responder.session_binding());
  CHECK(f.initiator.session_binding().size() == 32);
  auto big = pattern_bytes(200'000);
  bytes wire, back, plain;
  REQUIRE(f.initiator.send(big, wire) == transport_error::none);
  // All but the last 5 bytes: a frame is incomplete, the buffer holds it and stays.
  REQUIRE(f.responder.receive(std::span{wire}.first(wire.size() - 5), back, plain)
          == transport_error::none);
  f.responder.release_spare_capacity(4096);
  CHECK(f.responder.receive_capacity() > 4096);
  REQUIRE(f.responder.receive(std::span{wire}.last(5), back, plain) == transport_error::none);
  CHECK(plain == big);
  f.responder.release_spare_capacity(4096);
  CHECK(f.responder.receive_capacity() == 0);
  // And the channel reads on.
  bytes more_wire, more;
  REQUIRE(f.initiator.send(pattern_bytes(100, 9), more_wire) == transport_error::none);
  REQUIRE(f.responder.receive(more_wire, back, more) == transport_error::none);
  CHECK(more == pattern_bytes(100, 9));
}

TEST_CASE("Noise channel: modified, replayed, reordered, dropped and truncated frames end it") {
  auto session = [] {
    auto f = std::make_unique<pair_fixture>();
    REQUIRE(f->handshake() == transport_error::none);
    return f;
  };
  auto two_frames = [](pair_fixture& f) {
    bytes wire;
    REQUIRE(f.initiator.send(pattern_bytes(100), wire) == transport_error::none);
    REQUIRE(f.initiator.send(pattern_bytes(100, 1), wire) == transport_error::none);
    return frames_of(wire);
  };
  bytes out, plain;
  SUBCASE("modified") {
    auto f = session();
    auto frames = two_frames(*f);
    frames[0][20] ^= 0x01;
    CHECK(f->responder.receive(frames[0], out, plain) == transport_error::authentication_failed);
    CHECK(plain.empty());
    CHECK(f->responder.receive(frames[1], out, plain) == transport_error::closed);
    CHECK(f->responder.failure() == transport_error::authentication_failed);
  }
  SUBCASE("replayed") {
    auto f = session();
    auto frames = two_frames(*f);
    CHECK(f->responder.receive(frames[0], out, plain) == transport_error::none);
    CHECK(f->responder.receive(frames[0], out, plain) == transport_error::authentication_failed);
  }
  SUBCASE("reordered") {
    auto f = session();
    auto frames = two_frames(*f);
    CHECK(f->responder.receive(frames[1], out, plain) == transport_error::authentication_failed);
  }
  SUBCASE("dropped") {
    auto f = session();
    auto frames = two_frames(*f);
    bytes third;
    REQUIRE(f->initiator.send(pattern_bytes(5), third) == transport_error::none);
    CHECK(f->responder.receive(frames[0], out, plain) == transport_error::none);
    CHECK(f->responder.receive(third, out, plain) == transport_error::authentication_failed);
  }
  SUBCASE("length prefix cut short") {
    auto f = session();
    auto frames = two_frames(*f);
    frames[0][1] = static_cast<std::uint8_t>(frames[0][1] - 1); // claims one byte less
    CHECK(f->responder.receive(frames[0], out, plain) == transport_error::authentication_failed);
  }
  SUBCASE("truncated stream") {
    auto f = session();
    auto frames = two_frames(*f);
    CHECK(f->responder.receive(std::span{frames[0]}.first(50), out, plain)
          == transport_error::none);
    CHECK(f->responder.end_of_stream() == transport_error::truncated);
  }
  SUBCASE("tampered handshake") {
    pair_fixture f;
    bytes m1, m2, m3;
    REQUIRE(f.initiator.start(m1) == transport_error::none);
    REQUIRE(f.responder.start(m2) == transport_error::none);
    REQUIRE(f.responder.receive(m1, m2, plain) == transport_error::none);
    m2[60] ^= 0x80; // inside the encrypted static key
    CHECK(f.initiator.receive(m2, m3, plain) == transport_error::authentication_failed);
    CHECK(m3.empty());
  }
}

TEST_CASE("Noise channel: both directions rekey at the announced intervals, in step") {
  noise_handshake_payload a, b;
  a.rekey_after_messages = 3;
  b.rekey_after_bytes = 1000; // every 10 messages of 100 ciphertext bytes
  pair_fixture f{std::nullopt, a, b};
  REQUIRE(f.handshake() == transport_error::none);
  REQUIRE(f.responder.remote_payload()->rekey_after_messages == 3);
  bytes sink, plain_r, plain_i;
  for (int i = 0; i < 25; ++i) {
    bytes w1, w2;
    REQUIRE(f.initiator.send(pattern_bytes(84, static_cast<std::uint8_t>(i)), w1)
            == transport_error::none);
    REQUIRE(f.responder.receive(w1, sink, plain_r) == transport_error::none);
    REQUIRE(f.responder.send(pattern_bytes(84, static_cast<std::uint8_t>(i + 1)), w2)
            == transport_error::none);
    REQUIRE(f.initiator.receive(w2, sink, plain_i) == transport_error::none);
  }
  CHECK(plain_r.size() == 25 * 84);
  CHECK(f.initiator.send_rekeys() == 8); // after messages 3, 6, ..., 24
  CHECK(f.responder.receive_rekeys() == 8);
  CHECK(f.responder.send_rekeys() == 2); // after 1000 and 2000 ciphertext bytes
  CHECK(f.initiator.receive_rekeys() == 2);

  // The same seeds give the same transport keys (they derive from the chaining key, which the
  // payloads do not touch), so a session that never rekeys produces the same first three frames
  // and a different fourth; its receiver cannot read the rekeyed fourth frame.
  noise_handshake_payload never;
  never.rekey_after_messages = 0xffffffff;
  pair_fixture g{std::nullopt, a, never};
  pair_fixture h{std::nullopt, never, never};
  REQUIRE(g.handshake() == transport_error::none);
  REQUIRE(h.handshake() == transport_error::none);
  bytes gw, hw;
  for (int i = 0; i < 4; ++i) {
    REQUIRE(g.initiator.send(pattern_bytes(10), gw) == transport_error::none);
    REQUIRE(h.initiator.send(pattern_bytes(10), hw) == transport_error::none);
  }
  auto gf = frames_of(gw), hf = frames_of(hw);
  REQUIRE(gf.size() == 4);
  for (std::size_t i = 0; i < 3; ++i)
    CHECK(gf[i] == hf[i]);
  CHECK(gf[3] != hf[3]);
  bytes plain;
  for (std::size_t i = 0; i < 3; ++i)
    REQUIRE(h.responder.receive(hf[i], sink, plain) == transport_error::none);
  CHECK(h.responder.receive(gf[3], sink, plain) == transport_error::authentication_failed);
}

TEST_CASE("Noise channel: rekey byte counts are ciphertext bytes, without the length prefix") {
  // docs/protocol.md, "Transport": each message counts plaintext + 16 (its tag), not the 2-byte
  // length before it. 84 plaintext bytes are 100 counted bytes (102 on the wire): with a limit
  // of 201 the rekey comes after the third message; counting the prefix would make it the second.
  noise_handshake_payload a;
  a.rekey_after_bytes = 201;
  pair_fixture f{std::nullopt, a, {}};
  REQUIRE(f.handshake() == transport_error::none);
  bytes sink, plain;
  auto one = [&] {
    bytes wire;
    REQUIRE(f.initiator.send(pattern_bytes(84), wire) == transport_error::none);
    REQUIRE(wire.size() == 102);
    REQUIRE(f.responder.receive(wire, sink, plain) == transport_error::none);
  };
  one();
  one();
  CHECK(f.initiator.send_rekeys() == 0);
  CHECK(f.responder.receive_rekeys() == 0);
  one(); // 300 counted bytes >= 201
  CHECK(f.initiator.send_rekeys() == 1);
  CHECK(f.responder.receive_rekeys() == 1);
  // The count starts again at zero after a rekey: two more messages (200) do not reach 201.
  one();
  one();
  CHECK(f.initiator.send_rekeys() == 1);
  one();
  CHECK(f.initiator.send_rekeys() == 2);
  CHECK(f.responder.receive_rekeys() == 2);
}

TEST_CASE("Noise channel: a pinned key is enforced") {
  node_identity bob = node_identity::from_seed(seed_of(2));
  node_identity mallory = node_identity::from_seed(seed_of(3));
  {
    pair_fixture f{bob.static_public()};
    CHECK(f.handshake() == transport_error::none);
    CHECK(f.initiator.established());
  }
  {
    pair_fixture f{mallory.static_public()};
    CHECK(f.handshake() == transport_error::pin_mismatch);
    CHECK_FALSE(f.initiator.established());
    CHECK_FALSE(f.responder.established()); // message 3 was never sent
  }
}

TEST_CASE("Noise channel: networks cannot talk to each other") {
  pair_fixture f{std::nullopt, {}, {}, {0xfa, 0xbf, 0xb5, 0xda}};
  CHECK(f.handshake() == transport_error::wrong_network);
  CHECK(f.responder.failure() == transport_error::wrong_network);
}

TEST_CASE("Noise channel: an initiator recognises a peer that does not speak Noise") {
  node_identity alice = node_identity::from_seed(seed_of(1));
  Botan::ChaCha_RNG rng{Botan::secure_vector<std::uint8_t>(32, 1)};
  bytes out, plain;
  {
    noise_channel ch{channel_role::initiator, static_of(alice), qtcm, std::nullopt, rng};
    REQUIRE(ch.start(out) == transport_error::none);
    // A TLS alert record (protocol_version), as a TLS-only server answers garbage.
    bytes alert{0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46};
    CHECK(ch.receive(alert, out, plain) == transport_error::not_noise);
  }
  {
    noise_channel ch{channel_role::initiator, static_of(alice), qtcm, std::nullopt, rng};
    REQUIRE(ch.start(out) == transport_error::none);
    CHECK(ch.end_of_stream() == transport_error::not_noise);
  }
  {
    noise_channel ch{channel_role::responder, static_of(alice), qtcm, std::nullopt, rng};
    REQUIRE(ch.start(out) == transport_error::none);
    CHECK(ch.receive(bytes{0x00, 0x05, 1, 2, 3, 4, 5}, out, plain)
          == transport_error::malformed_message);
  }
}

TEST_CASE("Noise handshake payloads: exact bytes and bounds") {
  noise_handshake_payload p;
  p.features = 1;
  p.rekey_after_messages = 3;
  p.rekey_after_bytes = 0x100;
  CHECK(to_hex(encode(p))
        == "02"
           "0100000000000000"
           "03000000"
           "0001000000000000");
  CHECK(decode_noise_handshake_payload(encode(p)) == p);
  auto longer = encode(p);
  longer.resize(100, 0xee);
  CHECK(decode_noise_handshake_payload(longer) == p); // reserved bytes ignored
  auto encoded = encode(p);
  CHECK_FALSE(decode_noise_handshake_payload(std::span{encoded}.first(20)));
  CHECK_FALSE(decode_noise_handshake_payload(bytes(1025, 1)));
  p.rekey_after_messages = 0;
  CHECK_FALSE(decode_noise_handshake_payload(encode(p)));
}

TEST_CASE("node identity: one seed gives matching Noise and TLS keys, the key file is guarded") {
  auto id = node_identity::from_seed(seed_of(9));
  CHECK(x25519_from_ed25519(id.tls_public()) == id.static_public());
  CHECK(id.id() == node_id_of(id.static_public(), id.pq_public()));
  CHECK(id.pq_public().size() == ml_dsa_public_key_size);
  CHECK_FALSE(x25519_from_ed25519(bytes(31, 0)));

  test::temp_dir dir;
  Botan::ChaCha_RNG rng{Botan::secure_vector<std::uint8_t>(32, 4)};
  auto file = dir.path() / "node.key";
  std::string error;
  auto created = node_identity::load_or_create(file, rng, error);
  REQUIRE_MESSAGE(created, error);
  struct stat st;
  REQUIRE(::stat(file.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(std::filesystem::file_size(file) == 32);
  auto again = node_identity::load_or_create(file, rng, error);
  REQUIRE(again);
  CHECK(again->static_public() == created->static_public());
  CHECK(again->id() == created->id());
  // The ML-DSA identity key: beside node.key, the same rules.
  auto pq_file = dir.path() / std::string{pq_key_file};
  REQUIRE(::stat(pq_file.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(std::filesystem::file_size(pq_file) == 32);
  ::chmod(pq_file.c_str(), 0640);
  CHECK_FALSE(node_identity::load_or_create(file, rng, error));
  CHECK(error.find("ML-DSA identity key has mode 0640") != std::string::npos);
  ::chmod(pq_file.c_str(), 0600);
  std::filesystem::resize_file(pq_file, 31);
  CHECK_FALSE(node_identity::load_or_create(file, rng, error));
  CHECK(error.find("node_pq.key: the ML-DSA identity key must hold exactly 32 bytes")
        != std::string::npos);
  std::filesystem::remove(pq_file); // a new ML-DSA key: a new node id, the same static key
  auto renewed = node_identity::load_or_create(file, rng, error);
  REQUIRE_MESSAGE(renewed, error);
  CHECK(renewed->static_public() == created->static_public());
  CHECK(renewed->id() != created->id());

  ::chmod(file.c_str(), 0644);
  CHECK_FALSE(node_identity::load_or_create(file, rng, error));
  CHECK(error.find("0644") != std::string::npos);
  ::chmod(file.c_str(), 0600);
  { std::ofstream{file, std::ios::app} << "x"; }
  CHECK_FALSE(node_identity::load_or_create(file, rng, error));
  CHECK(error.find("33 bytes") != std::string::npos);
}

TEST_CASE("node identity: its kept ML-DSA signer signs the same as a new one, also from threads") {
  // The identity keeps one ready signer (building one per signature was 40 % of its cost). A
  // signer that kept state between messages, or two threads sharing it unguarded, would give
  // signatures that differ from a new identity's or do not verify.
  auto id = node_identity::from_seed(seed_of(9));
  auto message = [](int i) { return bytes(40 + i, static_cast<std::uint8_t>(i)); };
  std::vector<bytes> expected;
  for (int i = 0; i < 16; ++i) {
    auto fresh = node_identity::from_seed(seed_of(9)); // its own signer, first use
    expected.push_back(fresh.sign(message(i)));
    REQUIRE(verify_ml_dsa(id.pq_public(), message(i), expected.back()));
  }
  auto copy = id; // copies share the kept signer
  for (int round = 0; round < 2; ++round)
    for (int i = 0; i < 16; ++i)
      CHECK((i % 2 == 0 ? id : copy).sign(message(i)) == expected[i]);
  std::vector<bytes> got(64);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = t; i < 64; i += 4)
        got[i] = id.sign(message(i % 16));
    });
  for (auto& t : threads)
    t.join();
  for (int i = 0; i < 64; ++i)
    CHECK(got[i] == expected[i % 16]);
  CHECK_FALSE(
      verify_ml_dsa(node_identity::from_seed(seed_of(8)).pq_public(), message(0), expected[0]));
}

TEST_CASE("interop: python3-dissononce initiator against this responder over loopback TCP") {
  test::temp_dir dir;
  std::uint16_t port = 0;
  int listener = listen_loopback(port);
  auto python_key = from_hex(std::string(62, '4') + "11").value();
  test::child_process peer{"/usr/bin/python3",
                           {peer_script(), "--role", "initiator", "--port", std::to_string(port),
                            "--static-private", to_hex(python_key), "--rekey-messages", "1",
                            "--send-bytes", "200000"},
                           dir.path() / "peer.out"};
  pollfd p{listener, POLLIN, 0};
  REQUIRE_MESSAGE(::poll(&p, 1, 20'000) == 1, peer.output());
  int fd = ::accept(listener, nullptr, nullptr);
  ::close(listener);
  Botan::ChaCha_RNG rng{Botan::secure_vector<std::uint8_t>(32, 5)};
  auto self = node_identity::from_seed(seed_of(5));
  noise_handshake_payload mine;
  mine.rekey_after_messages = 2;
  noise_channel ch{channel_role::responder, static_of(self), qtcm, std::nullopt, rng, mine,
                   pq_policy::off}; // dissononce has no ML-KEM: it speaks the classical mode
  serve_echo(fd, ch, 200000);
  auto j = check_peer_report(peer, fd, ch, self, python_key);
  CHECK(j["peer_payload"]["rekey_after_messages"] == 2);
  CHECK(j["rekeys_sent"].get<int>() == 4);     // 4 messages of <= 65519 bytes, rekey after each
  CHECK(j["rekeys_received"].get<int>() == 2); // our 4 echo messages, rekey after every 2
  CHECK(ch.receive_rekeys() == 4);
}

TEST_CASE("interop: this initiator against a python3-dissononce responder over loopback TCP") {
  test::temp_dir dir;
  auto python_key = from_hex(std::string(62, '6') + "22").value();
  test::child_process peer{"/usr/bin/python3",
                           {peer_script(), "--role", "responder", "--static-private",
                            to_hex(python_key), "--send-bytes", "70000"},
                           dir.path() / "peer.out"};
  auto line = peer.wait_for_line("PORT ", 20s);
  REQUIRE_MESSAGE(line, peer.output());
  auto port = static_cast<std::uint16_t>(std::stoi(line->substr(line->find("PORT ") + 5)));
  int fd = test::tcp_connect("127.0.0.1", port);
  REQUIRE(fd >= 0);
  Botan::ChaCha_RNG rng{Botan::secure_vector<std::uint8_t>(32, 6)};
  auto self = node_identity::from_seed(seed_of(6));
  auto python_static = noise::keypair::from_private(python_key).public_key;
  noise_channel ch{channel_role::initiator, static_of(self), qtcm, python_static, rng, {},
                   pq_policy::off};
  serve_echo(fd, ch, 70000);
  check_peer_report(peer, fd, ch, self, python_key);
}
