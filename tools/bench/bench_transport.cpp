// qtc-bench-transport: the secure transport's cost, each figure next to the limit that bounds it,
// measured in the same run on the same core:
//
//   throughput — the Noise channel moving a 64 MiB stream in full-size frames (65519 plaintext
//                bytes), encrypt + decrypt, vs Botan's raw ChaCha20-Poly1305 doing the same
//                encrypt + decrypt on buffers of that size (the channel's own bound), and vs
//                `openssl speed -evp chacha20-poly1305 -bytes 65536` (encryption only, so its
//                rate is halved for the encrypt + decrypt comparison — decryption costs the same
//                passes over the data)
//   handshakes — complete Noise XX handshakes per second (both sides' work, one core) vs the
//                X25519 scalar-multiplication rate divided by 8 (each handshake needs 4
//                per side: one key generation and three DH operations); then the hybrid
//                Noise XXhfs handshakes per second vs the bound of their public-key work: 8
//                X25519 multiplications plus one ML-KEM-768 key generation, encapsulation and
//                decapsulation, each timed alone in the same run; and each handshake's bytes
//                on the wire (length prefixes included)
//   QuantumProof — the ML-DSA-65 signature each session signs (node_identity::sign, with the
//                identity's kept signer) vs Botan signing with one signer built beforehand (its
//                bound), beside a key and signer built for every signature (how the node signed
//                before 2026-12-06); and the verification of a peer's proof
//
//   qtc-bench-transport [--megabytes=64]
//
// Each figure is the best of 5 runs.
#include "bench_util.hpp"
#include "runtime/transport/node_identity.hpp"
#include "runtime/transport/noise_channel.hpp"
#include "runtime/transport/noise_kem.hpp"

#include <botan/aead.h>
#include <botan/chacha_rng.h>
#include <botan/ml_dsa.h>
#include <botan/pubkey.h>
#include <botan/x25519.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <iostream>
#include <string>

using namespace qtc;
using clock_type = std::chrono::steady_clock;
using bench::best_of;
using bench::report;

namespace {

const std::array<std::uint8_t, 4> magic{0x51, 0x54, 0x43, 0x4d};

struct channel_pair {
  Botan::ChaCha_RNG rng_a{Botan::secure_vector<std::uint8_t>(32, 1)};
  Botan::ChaCha_RNG rng_b{Botan::secure_vector<std::uint8_t>(32, 2)};
  noise_channel a;
  noise_channel b;
  std::size_t wire_bytes = 0; ///< the handshake's bytes, both directions
  channel_pair(const noise::keypair& ka, const noise::keypair& kb,
               pq_policy pq = pq_policy::preferred)
      : a(channel_role::initiator, ka, magic, std::nullopt, rng_a, {}, pq),
        b(channel_role::responder, kb, magic, std::nullopt, rng_b, {}, pq) {}
  bool handshake() {
    bytes m1, m2, m3, sink;
    a.start(m1);
    b.start(m2);
    b.receive(m1, m2, sink);
    a.receive(m2, m3, sink);
    b.receive(m3, sink, sink);
    wire_bytes = m1.size() + m2.size() + m3.size();
    return a.established() && b.established();
  }
};

/// Seconds for `n` complete handshakes under `pq` (best of 5).
double time_handshakes(const noise::keypair& ka, const noise::keypair& kb, pq_policy pq, int n) {
  return best_of(5, [&] {
    for (int i = 0; i < n; ++i) {
      channel_pair pair{ka, kb, pq};
      if (!pair.handshake())
        std::abort();
    }
  });
}

/// Seconds for one ML-KEM-768 key generation + encapsulation + decapsulation (best of 5).
double time_kem_operations() {
  const int n = 500;
  Botan::ChaCha_RNG rng{Botan::secure_vector<std::uint8_t>(32, 4)};
  double t = best_of(5, [&] {
    for (int i = 0; i < n; ++i) {
      auto keys = noise::kem_keypair::generate(rng);
      auto enc = noise::kem_encapsulate(keys.public_key, rng);
      if (!enc || noise::kem_decapsulate(keys, enc->ciphertext) != enc->shared_secret)
        std::abort();
    }
  });
  return t / n;
}

void report_hybrid(const noise::keypair& ka, const noise::keypair& kb, double mult_rate) {
  const int handshakes = 1000;
  double rate = handshakes / time_handshakes(ka, kb, pq_policy::required, handshakes);
  double kem_seconds = time_kem_operations();
  double bound = 1.0 / (8.0 / mult_rate + kem_seconds);
  channel_pair classical{ka, kb, pq_policy::off}, hybrid{ka, kb, pq_policy::required};
  classical.handshake();
  hybrid.handshake();
  std::printf("hybrid handshakes: %s, both sides on one core\n",
              std::string{noise_hybrid_protocol_name}.c_str());
  report("  complete handshakes", rate, "per s");
  report("  ML-KEM-768 keygen + encaps + decaps", 1.0 / kem_seconds, "per s");
  report("  bound: 1 / (8 X25519 + keygen + encaps + decaps)", bound, "per s");
  report("  ratio hybrid handshakes / bound", rate / bound, "");
  std::printf("handshake bytes on the wire (3 frames, length prefixes included)\n");
  report("  classical (pq = off)", static_cast<double>(classical.wire_bytes), "bytes");
  report("  hybrid (pq = required)", static_cast<double>(hybrid.wire_bytes), "bytes");
  report("  difference (1184 + 1088 + 16 = 2288)",
         static_cast<double>(hybrid.wire_bytes - classical.wire_bytes), "bytes");
}

/// Signatures per second of each way of signing a session's QuantumProof, best of 5.
void report_quantumproof() {
  // One ML-DSA key for all three ways: the rejection loop's rounds depend on key and message.
  const std::array<std::uint8_t, 32> seed{5};
  const auto id = node_identity::from_seeds(std::array<std::uint8_t, 32>{6}, seed);
  const int n = 200;
  std::vector<bytes> messages;
  for (int i = 0; i < n; ++i)
    messages.push_back(bytes(32, static_cast<std::uint8_t>(i)));
  std::vector<bytes> sigs(n);
  double t_kept = best_of(5, [&] {
    for (int i = 0; i < n; ++i)
      sigs[i] = id.sign(messages[i]);
  });
  Botan::Null_RNG none;
  double t_built = best_of(5, [&] {
    for (int i = 0; i < n; ++i) {
      Botan::ML_DSA_PrivateKey key{seed, Botan::ML_DSA_Mode::ML_DSA_6x5};
      Botan::PK_Signer signer{key, none, "Deterministic"};
      if (signer.sign_message(messages[i].data(), messages[i].size(), none).empty())
        std::abort();
    }
  });
  Botan::ML_DSA_PrivateKey key{seed, Botan::ML_DSA_Mode::ML_DSA_6x5};
  Botan::PK_Signer signer{key, none, "Deterministic"};
  double t_raw = best_of(5, [&] {
    for (int i = 0; i < n; ++i)
      if (signer.sign_message(messages[i].data(), messages[i].size(), none).empty())
        std::abort();
  });
  double t_verify = best_of(5, [&] {
    for (int i = 0; i < n; ++i)
      if (!verify_ml_dsa(id.pq_public(), messages[i], sigs[i]))
        std::abort();
  });
  std::printf("QuantumProof: ML-DSA-65 signatures of 32-byte messages, one core\n");
  report("  sign, the identity's kept signer", n / t_kept, "per s");
  report("  sign, key and signer built for each (before)", n / t_built, "per s");
  report("  Botan sign, one signer built beforehand (bound)", n / t_raw, "per s");
  report("  ratio kept signer / bound", t_raw / t_kept, "");
  report("  verify (the peer's key decoded each time)", n / t_verify, "per s");
}

/// `openssl speed` encryption rate in bytes/s, or 0 if it could not be run.
double openssl_rate() {
  FILE* p =
      ::popen("openssl speed -evp chacha20-poly1305 -bytes 65536 -seconds 3 -mr 2>/dev/null", "r");
  if (!p)
    return 0;
  char line[512];
  double rate = 0;
  while (std::fgets(line, sizeof line, p)) {
    std::string s{line};
    if (s.rfind("+F:", 0) == 0)
      rate = std::stod(s.substr(s.rfind(':') + 1));
  }
  ::pclose(p);
  return rate;
}

} // namespace

int main(int argc, char** argv) {
  std::size_t megabytes = 64;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--megabytes=", 0) == 0)
      megabytes = std::stoul(a.substr(12));
  }
  auto alice = node_identity::from_seed(std::array<std::uint8_t, 32>{1});
  auto bob = node_identity::from_seed(std::array<std::uint8_t, 32>{2});
  auto ka = noise::keypair::from_private(alice.static_private());
  auto kb = noise::keypair::from_private(bob.static_private());

  // -- throughput ---------------------------------------------------------------------------------
  const std::size_t total = megabytes << 20;
  bytes stream(total);
  for (std::size_t i = 0; i < total; ++i)
    stream[i] = static_cast<std::uint8_t>(i * 31);
  double t_channel = best_of(5, [&] {
    channel_pair pair{ka, kb};
    pair.handshake();
    bytes wire, sink, plain;
    wire.reserve(1 << 20);
    plain.reserve(1 << 20);
    const std::size_t step = 16 * max_noise_plaintext; // the session hands over ~1 MB at a time
    for (std::size_t off = 0; off < total; off += step) {
      auto piece = std::span{stream}.subspan(off, std::min(step, total - off));
      wire.clear();
      plain.clear();
      pair.a.send(piece, wire);
      pair.b.receive(wire, sink, plain);
      if (plain.size() != piece.size())
        std::abort();
    }
  });
  double t_raw = best_of(5, [&] {
    auto enc = Botan::AEAD_Mode::create_or_throw("ChaCha20Poly1305", Botan::Cipher_Dir::Encryption);
    auto dec = Botan::AEAD_Mode::create_or_throw("ChaCha20Poly1305", Botan::Cipher_Dir::Decryption);
    std::array<std::uint8_t, 32> key{7};
    enc->set_key(key.data(), key.size());
    dec->set_key(key.data(), key.size());
    Botan::secure_vector<std::uint8_t> buf;
    std::array<std::uint8_t, 12> nonce{};
    std::uint64_t n = 0;
    for (std::size_t off = 0; off < total; off += max_noise_plaintext, ++n) {
      auto len = std::min(max_noise_plaintext, total - off);
      std::memcpy(nonce.data() + 4, &n, 8);
      buf.assign(stream.begin() + static_cast<std::ptrdiff_t>(off),
                 stream.begin() + static_cast<std::ptrdiff_t>(off + len));
      enc->start(nonce.data(), nonce.size());
      auto bulk = len - len % 64;
      enc->process(buf.data(), bulk);
      enc->finish(buf, bulk);
      dec->start(nonce.data(), nonce.size());
      bulk = (buf.size() - 16) - (buf.size() - 16) % 64;
      dec->process(buf.data(), bulk);
      dec->finish(buf, bulk);
    }
  });
  double openssl = openssl_rate();
  double mb = static_cast<double>(total) / 1e6;
  std::printf("throughput: %.1f MB stream in %zu-byte frames, encrypt + decrypt\n", mb,
              max_noise_plaintext);
  report("  Noise channel (send + receive)", mb / t_channel, "MB/s");
  report("  Botan ChaCha20-Poly1305, raw (encrypt + decrypt)", mb / t_raw, "MB/s");
  report("  ratio channel / raw Botan", t_raw / t_channel, "");
  if (openssl > 0) {
    report("  openssl speed -evp chacha20-poly1305 (encrypt only)", openssl / 1e6, "MB/s");
    report("  ratio channel / (openssl / 2)", (mb / t_channel) / (openssl / 2e6), "");
  } else {
    std::printf("  openssl speed could not be run\n");
  }

  // -- handshakes ---------------------------------------------------------------------------------
  const int handshakes = 2000;
  double t_hs = time_handshakes(ka, kb, pq_policy::off, handshakes);
  const int mults = 8000;
  Botan::ChaCha_RNG rng{Botan::secure_vector<std::uint8_t>(32, 3)};
  Botan::X25519_PrivateKey priv{rng};
  auto peer = Botan::X25519_PrivateKey{rng}.public_value();
  double t_mult = best_of(5, [&] {
    Botan::Null_RNG none;
    for (int i = 0; i < mults; ++i) {
      Botan::PK_Key_Agreement ka2{priv, none, "Raw"};
      auto shared = ka2.derive_key(0, peer).bits_of(); // chained so no call can be skipped
      peer.assign(shared.begin(), shared.end());
    }
  });
  double hs_rate = handshakes / t_hs;
  double mult_rate = mults / t_mult;
  std::printf("handshakes: Noise_XX_25519_ChaChaPoly_BLAKE2s (pq = off), both sides on one core\n");
  report("  complete handshakes", hs_rate, "per s");
  report("  X25519 scalar multiplications", mult_rate, "per s");
  report("  ratio handshakes / (scalar mults / 8)", hs_rate / (mult_rate / 8), "");
  report_hybrid(ka, kb, mult_rate);
  report_quantumproof();
  return 0;
}
