#include "runtime/transport/node_identity.hpp"

#include <botan/bigint.h>
#include <botan/ed25519.h>
#include <botan/hash.h>
#include <botan/ml_dsa.h>
#include <botan/numthry.h>
#include <botan/pubkey.h>
#include <botan/rng.h>
#include <botan/x25519.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <sys/stat.h>

#include <fcntl.h>
#include <unistd.h>

namespace qtc {

/// The identity's ready ML-DSA signer. Building one expands the private key from its seed and the
/// matrix A from the public seed: 40 % of what a signature cost with it (docs/performance.md,
/// "QuantumProof signatures"). A node signs a QuantumProof for every session, so it keeps one. A
/// Botan key or signer object must not be used by two threads at once (concurrent use gave
/// signatures that did not verify), so the signer is used under `mutex`, taken with try_lock: a
/// thread that finds it busy builds its own, as every signature did before, and never waits for
/// another's.
struct ml_dsa_signer_cache {
  std::mutex mutex;
  Botan::Null_RNG none;
  std::unique_ptr<Botan::Private_Key> key;  ///< made with the identity
  std::unique_ptr<Botan::PK_Signer> signer; ///< made at the first signature
};

namespace {

std::vector<std::uint8_t> sign_with(Botan::PK_Signer& signer,
                                    std::span<const std::uint8_t> message) {
  Botan::Null_RNG none;
  auto sig = signer.sign_message(message.data(), message.size(), none);
  return std::vector<std::uint8_t>(sig.begin(), sig.end());
}

} // namespace

node_id node_id_of(const static_public_key& key, std::span<const std::uint8_t> pq_public) {
  auto sha = Botan::HashFunction::create_or_throw("SHA-256");
  sha->update(key.data(), key.size());
  sha->update(pq_public.data(), pq_public.size());
  node_id out;
  sha->final(out.data());
  return out;
}

std::optional<static_public_key> x25519_from_ed25519(std::span<const std::uint8_t> ed25519_public) {
  if (ed25519_public.size() != 32)
    return std::nullopt;
  // y is the little-endian encoding with the top bit (the sign of x) cleared.
  std::array<std::uint8_t, 32> y_be;
  std::reverse_copy(ed25519_public.begin(), ed25519_public.end(), y_be.begin());
  y_be[0] &= 0x7f;
  const Botan::BigInt p = (Botan::BigInt::one() << 255) - 19;
  Botan::BigInt y = Botan::BigInt::from_bytes(y_be);
  if (y >= p || y == Botan::BigInt::one())
    return std::nullopt; // non-canonical, or the point whose Montgomery image is at infinity
  Botan::BigInt one_minus_y = (Botan::BigInt::one() + p - y) % p;
  Botan::BigInt u = ((Botan::BigInt::one() + y) * Botan::inverse_mod(one_minus_y, p)) % p;
  std::array<std::uint8_t, 32> u_be{};
  u.serialize_to(u_be);
  static_public_key out;
  std::reverse_copy(u_be.begin(), u_be.end(), out.begin());
  return out;
}

node_identity node_identity::from_seed(std::span<const std::uint8_t, 32> seed) {
  // Tests and the simulator name a node by one seed: its ML-DSA seed is derived from it (a node's
  // files hold two independent seeds).
  auto sha = Botan::HashFunction::create_or_throw("SHA-256");
  const std::string_view label = "qtc-ml-dsa-65-seed";
  sha->update(reinterpret_cast<const std::uint8_t*>(label.data()), label.size());
  sha->update(seed.data(), seed.size());
  std::array<std::uint8_t, 32> pq_seed;
  sha->final(pq_seed.data());
  return from_seeds(seed, pq_seed);
}

node_identity node_identity::from_seeds(std::span<const std::uint8_t, 32> seed,
                                        std::span<const std::uint8_t, 32> pq_seed) {
  node_identity id;
  std::copy(pq_seed.begin(), pq_seed.end(), id.pq_seed_.begin());
  id.signer_ = std::make_shared<ml_dsa_signer_cache>();
  id.signer_->key = id.pq_private_key(); // expanded once: the public key, then the kept signer
  auto pq_public = id.signer_->key->public_key_bits();
  id.pq_public_.assign(pq_public.begin(), pq_public.end());
  std::copy(seed.begin(), seed.end(), id.seed_.begin());
  auto sha = Botan::HashFunction::create_or_throw("SHA-512");
  sha->update(seed.data(), seed.size());
  auto digest = sha->final();
  std::copy_n(digest.begin(), 32, id.static_private_.begin());
  id.static_private_[0] &= 248;
  id.static_private_[31] &= 127;
  id.static_private_[31] |= 64;
  Botan::X25519_PrivateKey x{
      Botan::secure_vector<std::uint8_t>(id.static_private_.begin(), id.static_private_.end())};
  auto pub = x.public_value();
  std::copy(pub.begin(), pub.end(), id.static_public_.begin());
  Botan::Ed25519_PrivateKey ed{Botan::secure_vector<std::uint8_t>(seed.begin(), seed.end())};
  auto edpub = ed.public_key_bits();
  std::copy(edpub.begin(), edpub.end(), id.tls_public_.begin());
  return id;
}

std::unique_ptr<Botan::Private_Key> node_identity::pq_private_key() const {
  // A fresh key object per caller, as for the TLS key: sessions sign on several threads at once,
  // and a Botan key object is not to be shared between threads (found by the e2e attack test:
  // concurrent signing with one object gave signatures that did not verify). The signer cache
  // keeps one and uses it under its mutex only.
  return std::make_unique<Botan::ML_DSA_PrivateKey>(pq_seed_, Botan::ML_DSA_Mode::ML_DSA_6x5);
}

std::unique_ptr<Botan::Private_Key> node_identity::tls_private_key() const {
  return std::make_unique<Botan::Ed25519_PrivateKey>(
      Botan::secure_vector<std::uint8_t>(seed_.begin(), seed_.end()));
}

namespace {

/// Loads the 32-byte secret in `file`, creating it from `rng` (mode 0600) when it does not exist;
/// `what` names it in errors ("node key").
std::optional<std::array<std::uint8_t, 32>> load_or_create_secret(const std::filesystem::path& file,
                                                                  Botan::RandomNumberGenerator& rng,
                                                                  std::string_view what_sv,
                                                                  std::string& error) {
  const std::string what{what_sv};
  const std::string name = file.string();
  int fd = ::open(name.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0 && errno == ENOENT) {
    std::array<std::uint8_t, 32> seed;
    rng.randomize(seed.data(), seed.size());
    // Written to a temporary name and renamed, so a crash never leaves a short key file.
    auto tmp = name + ".tmp";
    int out = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (out < 0) {
      error = name + ": cannot create the " + what + ": " + std::strerror(errno);
      return std::nullopt;
    }
    bool ok = ::write(out, seed.data(), seed.size()) == static_cast<ssize_t>(seed.size())
              && ::fsync(out) == 0;
    ::close(out);
    if (!ok || ::rename(tmp.c_str(), name.c_str()) != 0) {
      error = name + ": cannot write the " + what + ": " + std::strerror(errno);
      ::unlink(tmp.c_str());
      return std::nullopt;
    }
    return seed;
  }
  if (fd < 0) {
    error = name + ": cannot open the " + what + ": " + std::strerror(errno);
    return std::nullopt;
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    error = name + ": the " + what + " is not a regular file";
    return std::nullopt;
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    error = name + ": the " + what + " has mode " + mode
            + " (group or others may access it); refusing to use it: chmod 600 it if it was not "
              "exposed, otherwise delete it so a new identity is created";
    return std::nullopt;
  }
  std::array<std::uint8_t, 33> buf;
  ssize_t n = ::read(fd, buf.data(), buf.size());
  ::close(fd);
  if (n != 32) {
    error = name + ": the " + what + " must hold exactly 32 bytes, it holds "
            + (n < 0 ? std::string{"unreadable data"} : std::to_string(st.st_size) + " bytes");
    return std::nullopt;
  }
  std::array<std::uint8_t, 32> seed;
  std::copy_n(buf.begin(), 32, seed.begin());
  return seed;
}

} // namespace

std::optional<node_identity> node_identity::load_or_create(const std::filesystem::path& file,
                                                           Botan::RandomNumberGenerator& rng,
                                                           std::string& error) {
  auto seed = load_or_create_secret(file, rng, "node key", error);
  if (!seed)
    return std::nullopt;
  auto pq_seed =
      load_or_create_secret(file.parent_path() / pq_key_file, rng, "ML-DSA identity key", error);
  if (!pq_seed)
    return std::nullopt;
  return from_seeds(*seed, *pq_seed);
}

std::vector<std::uint8_t> node_identity::sign(std::span<const std::uint8_t> message) const {
  // Deterministic ML-DSA (FIPS 204, rnd = 0): every signed message binds a fresh session, so
  // hedging adds nothing here, and the simulator stays reproducible.
  if (signer_) {
    std::unique_lock lock{signer_->mutex, std::try_to_lock};
    if (lock.owns_lock()) {
      if (!signer_->signer) {
        signer_->signer =
            std::make_unique<Botan::PK_Signer>(*signer_->key, signer_->none, "Deterministic");
      }
      return sign_with(*signer_->signer, message);
    }
  }
  Botan::Null_RNG none;
  auto key = pq_private_key();
  Botan::PK_Signer signer{*key, none, "Deterministic"};
  return sign_with(signer, message);
}

bool verify_ml_dsa(std::span<const std::uint8_t> public_key, std::span<const std::uint8_t> message,
                   std::span<const std::uint8_t> signature) {
  if (public_key.size() != ml_dsa_public_key_size || signature.size() != ml_dsa_signature_size)
    return false;
  try {
    Botan::ML_DSA_PublicKey key{public_key, Botan::ML_DSA_Mode::ML_DSA_6x5};
    Botan::PK_Verifier verifier{key, ""};
    return verifier.verify_message(message.data(), message.size(), signature.data(),
                                   signature.size());
  } catch (const Botan::Exception&) {
    return false; // an encoding Botan refuses
  }
}

} // namespace qtc
