#include "runtime/transport/noise_kem.hpp"

#include <botan/ml_kem.h>
#include <botan/pubkey.h>

#include <algorithm>

namespace qtc::noise {

namespace {

constexpr auto mode = Botan::ML_KEM_Mode::ML_KEM_768;

kem_keypair wrap(std::shared_ptr<const Botan::Kyber_PrivateKey> key) {
  kem_keypair kp;
  auto pub = key->public_key_bits();
  kp.public_key.assign(pub.begin(), pub.end());
  kp.key = std::move(key);
  return kp;
}

} // namespace

kem_keypair kem_keypair::generate(Botan::RandomNumberGenerator& rng) {
  // Drawing the seed ourselves keeps generation identical to from_seed (FIPS 203 KeyGen takes
  // d then z), so a seeded generator gives the same key pair everywhere.
  bytes seed(kem_seed_size);
  rng.randomize(seed.data(), seed.size());
  return from_seed(seed);
}

kem_keypair kem_keypair::from_seed(std::span<const std::uint8_t> seed) {
  return wrap(std::make_shared<const Botan::ML_KEM_PrivateKey>(seed, mode));
}

std::optional<kem_encapsulation> kem_encapsulate(std::span<const std::uint8_t> public_key,
                                                 Botan::RandomNumberGenerator& rng) {
  if (public_key.size() != kem_public_key_size)
    return std::nullopt;
  try {
    Botan::ML_KEM_PublicKey key{public_key, mode};
    Botan::PK_KEM_Encryptor encryptor{key, "Raw"};
    auto result = encryptor.encrypt(rng, kem_shared_secret_size);
    kem_encapsulation out;
    out.ciphertext.assign(result.encapsulated_shared_key().begin(),
                          result.encapsulated_shared_key().end());
    out.shared_secret.assign(result.shared_key().begin(), result.shared_key().end());
    return out;
  } catch (const Botan::Exception&) {
    return std::nullopt; // Botan's FIPS 203 encapsulation key check failed
  }
}

std::optional<bytes> kem_decapsulate(const kem_keypair& keys,
                                     std::span<const std::uint8_t> ciphertext) {
  if (ciphertext.size() != kem_ciphertext_size || !keys.key)
    return std::nullopt;
  Botan::Null_RNG no_randomness; // decapsulation draws none
  Botan::PK_KEM_Decryptor decryptor{*keys.key, no_randomness, "Raw"};
  auto secret = decryptor.decrypt(ciphertext, kem_shared_secret_size);
  return bytes(secret.begin(), secret.end());
}

void fixed_randomness::fill_bytes_with_input(std::span<std::uint8_t> output,
                                             std::span<const std::uint8_t>) {
  if (output.size() > data_.size() - used_)
    throw Botan::Invalid_State("fixed_randomness: the test vector holds too few random bytes");
  std::copy_n(data_.begin() + static_cast<std::ptrdiff_t>(used_), output.size(), output.begin());
  used_ += output.size();
}

} // namespace qtc::noise
