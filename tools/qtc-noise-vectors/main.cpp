// qtc-noise-vectors FILE...: runs Noise test vectors in the cacophony/snow JSON format
// ({"vectors": [ {protocol_name, init_prologue, init_static, init_ephemeral, init_remote_static,
// resp_prologue, resp_static, resp_ephemeral, resp_remote_static, handshake_hash,
// messages: [{payload, ciphertext}]} ]}) against this implementation. Hybrid (hfs) protocols
// also fix the KEM's randomness: init_ephemeral_kem / resp_ephemeral_kem (the 64-byte ML-KEM-768
// seed d || z of that side's "e1" key pair) and init_kem_encapsulation / resp_kem_encapsulation
// (the 32-byte Encaps message m of the side that sends "ekem1"); tests/data/README.md.
//
// Every entry whose protocol this implementation supports is run: handshake messages through
// HandshakeState, then transport messages through the split CipherStates (alternating direction
// for interactive patterns, initiator to responder for one-way ones). One line per entry:
//   PASS <file>#<index> <protocol>
//   FAIL <file>#<index> <protocol>: <what differed>
//   SKIP <file>#<index> <protocol>: <why>
// Exit status: 0 when nothing failed and at least one entry ran, 1 on any failure, 2 on
// unreadable input, 3 when no entry could be run at all.
#include "messages/primitives/hex.hpp"
#include "runtime/transport/noise_handshake_state.hpp"

#include <botan/rng.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <iostream>

using namespace qtc;
using namespace qtc::noise;

namespace {

struct outcome {
  enum { pass, fail, skip } kind;
  std::string detail;
};

std::optional<bytes> field(const nlohmann::json& v, const char* name) {
  if (!v.contains(name) || !v[name].is_string())
    return std::nullopt;
  return from_hex(v[name].get<std::string>());
}

outcome run_vector(const nlohmann::json& v) {
  auto name = v.value("protocol_name", std::string{});
  std::string why;
  auto proto = parse_protocol_name(name, why);
  if (!proto)
    return {outcome::skip, why};
  for (const char* unsupported : {"init_psks", "resp_psks", "fallback", "fallback_pattern"})
    if (v.contains(unsupported) && !(v[unsupported].is_array() && v[unsupported].empty()))
      return {outcome::skip, std::string{"uses "} + unsupported};
  auto key = [&](const char* name) -> std::optional<keypair> {
    if (auto b = field(v, name); b && b->size() == 32)
      return keypair::from_private(*b);
    return std::nullopt;
  };
  auto pub = [&](const char* name) -> std::optional<key32> {
    if (auto b = field(v, name); b && b->size() == 32) {
      key32 k;
      std::copy(b->begin(), b->end(), k.begin());
      return k;
    }
    return std::nullopt;
  };
  auto sized = [&](const char* name, std::size_t size) -> std::optional<bytes> {
    if (auto b = field(v, name); b && b->size() == size)
      return b;
    return std::nullopt;
  };
  Botan::Null_RNG no_randomness; // every key comes from the vector
  handshake_state init{{*proto, true, field(v, "init_prologue").value_or(bytes{}),
                        key("init_static"), key("init_ephemeral"), pub("init_remote_static"),
                        std::nullopt, sized("init_ephemeral_kem", kem_seed_size),
                        sized("init_kem_encapsulation", kem_encapsulation_randomness_size)},
                       no_randomness};
  handshake_state resp{{*proto, false, field(v, "resp_prologue").value_or(bytes{}),
                        key("resp_static"), key("resp_ephemeral"), pub("resp_remote_static"),
                        std::nullopt, sized("resp_ephemeral_kem", kem_seed_size),
                        sized("resp_kem_encapsulation", kem_encapsulation_randomness_size)},
                       no_randomness};
  if (init.status() != handshake_result::ok || resp.status() != handshake_result::ok)
    return {outcome::fail, "a pre-message key the pattern needs is missing from the vector"};
  if (!v.contains("messages") || !v["messages"].is_array())
    return {outcome::fail, "no messages"};
  const bool one_way = proto->pattern->messages.size() == 1;
  std::optional<std::pair<cipher_state, cipher_state>> ci, cr;
  std::size_t i = 0;
  for (const auto& m : v["messages"]) {
    auto payload = field(m, "payload");
    auto expected = field(m, "ciphertext");
    if (!payload || !expected)
      return {outcome::fail, "message " + std::to_string(i) + " lacks payload or ciphertext"};
    const bool from_initiator = one_way || i % 2 == 0;
    bytes ciphertext, plaintext;
    const auto where = "message " + std::to_string(i);
    if (!init.finished() || !resp.finished()) {
      auto& writer = from_initiator ? init : resp;
      auto& reader = from_initiator ? resp : init;
      try {
        if (writer.write_message(*payload, ciphertext) != handshake_result::ok)
          return {outcome::fail, where + ": WriteMessage failed"};
      } catch (const std::exception& e) {
        return {outcome::fail,
                where + ": WriteMessage needed a key the vector lacks (" + e.what() + ")"};
      }
      if (ciphertext != *expected)
        return {outcome::fail,
                where + ": ciphertext " + to_hex(ciphertext) + ", expected " + to_hex(*expected)};
      if (reader.read_message(ciphertext, plaintext) != handshake_result::ok)
        return {outcome::fail, where + ": ReadMessage refused the expected ciphertext"};
      if (plaintext != *payload)
        return {outcome::fail, where + ": ReadMessage gave a different payload"};
      if (init.finished() && resp.finished()) {
        if (auto hh = field(v, "handshake_hash");
            hh && (*hh != init.handshake_hash() || *hh != resp.handshake_hash()))
          return {outcome::fail,
                  "handshake hash " + to_hex(init.handshake_hash()) + ", expected " + to_hex(*hh)};
        ci = init.split();
        cr = resp.split();
      }
    } else {
      auto& send = from_initiator ? ci->first : cr->second;
      auto& receive = from_initiator ? cr->first : ci->second;
      if (send.encrypt_with_ad({}, *payload, ciphertext) != cipher_result::ok)
        return {outcome::fail, where + ": transport encryption failed"};
      if (ciphertext != *expected)
        return {outcome::fail, where + " (transport): ciphertext " + to_hex(ciphertext)
                                   + ", expected " + to_hex(*expected)};
      if (receive.decrypt_with_ad({}, ciphertext, plaintext) != cipher_result::ok
          || plaintext != *payload)
        return {outcome::fail, where + " (transport): decryption did not give the payload back"};
    }
    ++i;
  }
  return {outcome::pass, std::to_string(i) + " messages"};
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: qtc-noise-vectors FILE...\n";
    return 2;
  }
  std::size_t passed = 0, failed = 0, skipped = 0;
  for (int a = 1; a < argc; ++a) {
    std::ifstream in{argv[a]};
    auto doc = nlohmann::json::parse(in, nullptr, false);
    if (!in || doc.is_discarded()) {
      std::cerr << "qtc-noise-vectors: " << argv[a] << ": not readable JSON\n";
      return 2;
    }
    const auto& list = doc.is_object() && doc.contains("vectors") ? doc["vectors"] : doc;
    if (!list.is_array()) {
      std::cerr << "qtc-noise-vectors: " << argv[a] << ": no \"vectors\" array\n";
      return 2;
    }
    std::size_t index = 0;
    for (const auto& v : list) {
      auto name =
          v.is_object() ? v.value("protocol_name", std::string{"(unnamed)"}) : "(not an object)";
      auto r = v.is_object() ? run_vector(v) : outcome{outcome::fail, "entry is not an object"};
      const char* tag = r.kind == outcome::pass   ? "PASS"
                        : r.kind == outcome::fail ? "FAIL"
                                                  : "SKIP";
      std::cout << tag << " " << argv[a] << "#" << index << " " << name << ": " << r.detail << "\n";
      (r.kind == outcome::pass ? passed : r.kind == outcome::fail ? failed : skipped)++;
      ++index;
    }
  }
  std::cout << passed << " passed, " << failed << " failed, " << skipped << " skipped\n";
  if (failed > 0)
    return 1;
  return passed > 0 ? 0 : 3;
}
