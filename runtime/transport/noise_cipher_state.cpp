#include "runtime/transport/noise_cipher_state.hpp"

#include <botan/aead.h>

#include <algorithm>

namespace qtc::noise {

namespace {

const char* botan_name(cipher_kind kind) {
  return kind == cipher_kind::chachapoly ? "ChaCha20Poly1305" : "AES-256/GCM";
}

/// Runs the AEAD over `buf` from `offset`: the bulk through process() and only the tail through
/// finish(); Botan's ChaCha20Poly1305 is several times slower when finish() gets a large buffer.
void run(Botan::AEAD_Mode& mode, bytes& buf, std::size_t offset, std::size_t keep_for_finish) {
  const std::size_t len = buf.size() - offset;
  const std::size_t granularity = mode.ideal_granularity();
  std::size_t bulk = len > keep_for_finish ? len - keep_for_finish : 0;
  bulk -= bulk % granularity;
  if (bulk > 0)
    mode.process(buf.data() + offset, bulk);
  Botan::secure_vector<std::uint8_t> tail(buf.begin() + static_cast<std::ptrdiff_t>(offset + bulk),
                                          buf.end());
  mode.finish(tail);
  buf.resize(offset + bulk);
  buf.insert(buf.end(), tail.begin(), tail.end());
}

} // namespace

std::optional<cipher_kind> parse_cipher(std::string_view name) {
  if (name == "ChaChaPoly")
    return cipher_kind::chachapoly;
  if (name == "AESGCM")
    return cipher_kind::aesgcm;
  return std::nullopt;
}

cipher_state::cipher_state(cipher_kind kind) : kind_(kind) {}
cipher_state::~cipher_state() = default;
cipher_state::cipher_state(cipher_state&&) noexcept = default;
cipher_state& cipher_state::operator=(cipher_state&&) noexcept = default;

void cipher_state::initialize_key(const std::optional<key32>& key) {
  key_ = key;
  n_ = 0;
  if (!key_) {
    enc_.reset();
    dec_.reset();
    return;
  }
  if (enc_)
    enc_->set_key(key_->data(), key_->size());
  if (dec_)
    dec_->set_key(key_->data(), key_->size());
}

// Each direction's AEAD is made when first used: after the handshake a session's sending state
// only encrypts and its receiving state only decrypts, and each Botan ChaCha20-Poly1305 object
// holds about 1.3 KB (its keystream buffer), which an idle peer would carry twice for nothing.
Botan::AEAD_Mode& cipher_state::encryptor() {
  if (!enc_) {
    enc_ = Botan::AEAD_Mode::create_or_throw(botan_name(kind_), Botan::Cipher_Dir::Encryption);
    enc_->set_key(key_->data(), key_->size());
  }
  return *enc_;
}

Botan::AEAD_Mode& cipher_state::decryptor() {
  if (!dec_) {
    dec_ = Botan::AEAD_Mode::create_or_throw(botan_name(kind_), Botan::Cipher_Dir::Decryption);
    dec_->set_key(key_->data(), key_->size());
  }
  return *dec_;
}

void cipher_state::nonce_bytes(std::uint64_t n, std::array<std::uint8_t, 12>& out) const {
  out.fill(0);
  for (int i = 0; i < 8; ++i) {
    auto b = static_cast<std::uint8_t>(n >> (8 * i));
    if (kind_ == cipher_kind::chachapoly)
      out[4 + i] = b;
    else
      out[11 - i] = b;
  }
}

cipher_result cipher_state::encrypt_with_ad(std::span<const std::uint8_t> ad,
                                            std::span<const std::uint8_t> plaintext, bytes& out) {
  if (!key_) {
    out.insert(out.end(), plaintext.begin(), plaintext.end());
    return cipher_result::ok;
  }
  if (n_ == reserved_nonce)
    return cipher_result::nonce_exhausted;
  std::array<std::uint8_t, 12> nonce;
  nonce_bytes(n_, nonce);
  auto& enc = encryptor();
  enc.set_associated_data(ad.data(), ad.size());
  enc.start(nonce.data(), nonce.size());
  auto offset = out.size();
  out.insert(out.end(), plaintext.begin(), plaintext.end());
  run(enc, out, offset, 0);
  ++n_;
  return cipher_result::ok;
}

cipher_result cipher_state::decrypt_with_ad(std::span<const std::uint8_t> ad,
                                            std::span<const std::uint8_t> ciphertext, bytes& out) {
  if (!key_) {
    out.insert(out.end(), ciphertext.begin(), ciphertext.end());
    return cipher_result::ok;
  }
  if (n_ == reserved_nonce)
    return cipher_result::nonce_exhausted;
  if (ciphertext.size() < tag_size)
    return cipher_result::authentication_failed;
  std::array<std::uint8_t, 12> nonce;
  nonce_bytes(n_, nonce);
  auto& dec = decryptor();
  dec.set_associated_data(ad.data(), ad.size());
  dec.start(nonce.data(), nonce.size());
  auto offset = out.size();
  out.insert(out.end(), ciphertext.begin(), ciphertext.end());
  try {
    run(dec, out, offset, tag_size);
  } catch (const Botan::Invalid_Authentication_Tag&) {
    out.resize(offset);
    return cipher_result::authentication_failed;
  }
  ++n_;
  return cipher_result::ok;
}

void cipher_state::rekey() {
  if (!key_)
    return;
  std::array<std::uint8_t, 12> nonce;
  nonce_bytes(reserved_nonce, nonce);
  auto& enc = encryptor();
  enc.set_associated_data(nullptr, 0);
  enc.start(nonce.data(), nonce.size());
  bytes block(32, 0);
  run(enc, block, 0, 0);
  key32 next;
  std::copy_n(block.begin(), 32, next.begin());
  auto n = n_;
  initialize_key(next);
  n_ = n;
}

} // namespace qtc::noise
