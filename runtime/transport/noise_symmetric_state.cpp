#include "runtime/transport/noise_symmetric_state.hpp"

#include <botan/hash.h>

#include <algorithm>

namespace qtc::noise {

namespace {

const char* botan_name(hash_kind kind) {
  switch (kind) {
  case hash_kind::blake2s:
    return "BLAKE2s(256)";
  case hash_kind::sha256:
    return "SHA-256";
  case hash_kind::blake2b:
    return "BLAKE2b(512)";
  case hash_kind::sha512:
    return "SHA-512";
  }
  return "SHA-256";
}

std::size_t block_length(hash_kind kind) {
  return hash_length(kind) == 32 ? 64 : 128;
}

key32 first_32(const bytes& b) {
  key32 k;
  std::copy_n(b.begin(), 32, k.begin());
  return k;
}

} // namespace

std::optional<hash_kind> parse_hash(std::string_view name) {
  if (name == "BLAKE2s")
    return hash_kind::blake2s;
  if (name == "SHA256")
    return hash_kind::sha256;
  if (name == "BLAKE2b")
    return hash_kind::blake2b;
  if (name == "SHA512")
    return hash_kind::sha512;
  return std::nullopt;
}

std::size_t hash_length(hash_kind kind) {
  return kind == hash_kind::blake2s || kind == hash_kind::sha256 ? 32 : 64;
}

bytes hash(hash_kind kind, std::span<const std::uint8_t> data) {
  auto h = Botan::HashFunction::create_or_throw(botan_name(kind));
  h->update(data.data(), data.size());
  auto out = h->final();
  return bytes(out.begin(), out.end());
}

bytes hmac(hash_kind kind, std::span<const std::uint8_t> key, std::span<const std::uint8_t> data) {
  const std::size_t block = block_length(kind);
  bytes k(key.begin(), key.end());
  if (k.size() > block)
    k = hash(kind, k);
  k.resize(block, 0);
  auto h = Botan::HashFunction::create_or_throw(botan_name(kind));
  bytes pad(block);
  for (std::size_t i = 0; i < block; ++i)
    pad[i] = k[i] ^ 0x36;
  h->update(pad);
  h->update(data.data(), data.size());
  auto inner = h->final();
  for (std::size_t i = 0; i < block; ++i)
    pad[i] = k[i] ^ 0x5c;
  h->update(pad);
  h->update(inner);
  auto outer = h->final();
  return bytes(outer.begin(), outer.end());
}

std::vector<bytes> hkdf(hash_kind kind, std::span<const std::uint8_t> chaining_key,
                        std::span<const std::uint8_t> input_key_material, int num_outputs) {
  auto temp_key = hmac(kind, chaining_key, input_key_material);
  std::vector<bytes> out;
  bytes previous;
  for (int i = 1; i <= num_outputs; ++i) {
    bytes input = previous;
    input.push_back(static_cast<std::uint8_t>(i));
    previous = hmac(kind, temp_key, input);
    out.push_back(previous);
  }
  return out;
}

void symmetric_state::initialize_symmetric(std::string_view protocol_name) {
  const std::size_t len = hash_length(hash_);
  if (protocol_name.size() <= len) {
    h_.assign(protocol_name.begin(), protocol_name.end());
    h_.resize(len, 0);
  } else {
    h_ = hash(hash_, std::span{reinterpret_cast<const std::uint8_t*>(protocol_name.data()),
                               protocol_name.size()});
  }
  ck_ = h_;
  cipher_.initialize_key(std::nullopt);
}

void symmetric_state::mix_key(std::span<const std::uint8_t> input_key_material) {
  auto out = hkdf(hash_, ck_, input_key_material, 2);
  ck_ = out[0];
  cipher_.initialize_key(first_32(out[1]));
}

void symmetric_state::mix_hash(std::span<const std::uint8_t> data) {
  bytes input = h_;
  input.insert(input.end(), data.begin(), data.end());
  h_ = hash(hash_, input);
}

void symmetric_state::mix_key_and_hash(std::span<const std::uint8_t> input_key_material) {
  auto out = hkdf(hash_, ck_, input_key_material, 3);
  ck_ = out[0];
  mix_hash(out[1]);
  cipher_.initialize_key(first_32(out[2]));
}

cipher_result symmetric_state::encrypt_and_hash(std::span<const std::uint8_t> plaintext,
                                                bytes& out) {
  auto offset = out.size();
  auto r = cipher_.encrypt_with_ad(h_, plaintext, out);
  if (r == cipher_result::ok)
    mix_hash(std::span{out}.subspan(offset));
  return r;
}

cipher_result symmetric_state::decrypt_and_hash(std::span<const std::uint8_t> ciphertext,
                                                bytes& out) {
  auto r = cipher_.decrypt_with_ad(h_, ciphertext, out);
  if (r == cipher_result::ok)
    mix_hash(ciphertext);
  return r;
}

std::pair<cipher_state, cipher_state> symmetric_state::split() {
  auto out = hkdf(hash_, ck_, {}, 2);
  cipher_state c1{cipher_.kind()}, c2{cipher_.kind()};
  c1.initialize_key(first_32(out[0]));
  c2.initialize_key(first_32(out[1]));
  return {std::move(c1), std::move(c2)};
}

} // namespace qtc::noise
