#include "runtime/transport/noise_handshake_state.hpp"

#include <botan/pubkey.h>
#include <botan/rng.h>
#include <botan/x25519.h>

#include <algorithm>
#include <array>

namespace qtc::noise {

namespace {

constexpr std::size_t dh_length = 32;

using enum token;

// Noise revision 34, sections 7.4 (one-way) and 7.5 (interactive).
const std::array<handshake_pattern, 15>& patterns() {
  static const std::array<handshake_pattern, 15> all{{
      {"N", {}, {s}, {{e, es}}},
      {"K", {s}, {s}, {{e, es, ss}}},
      {"X", {}, {s}, {{e, es, s, ss}}},
      {"NN", {}, {}, {{e}, {e, ee}}},
      {"NK", {}, {s}, {{e, es}, {e, ee}}},
      {"NX", {}, {}, {{e}, {e, ee, s, es}}},
      {"XN", {}, {}, {{e}, {e, ee}, {s, se}}},
      {"XK", {}, {s}, {{e, es}, {e, ee}, {s, se}}},
      {"XX", {}, {}, {{e}, {e, ee, s, es}, {s, se}}},
      {"KN", {s}, {}, {{e}, {e, ee, se}}},
      {"KK", {s}, {s}, {{e, es, ss}, {e, ee, se}}},
      {"KX", {s}, {}, {{e}, {e, ee, se, s, es}}},
      {"IN", {}, {}, {{e, s}, {e, ee, se}}},
      {"IK", {}, {s}, {{e, es, s, ss}, {e, ee, se}}},
      {"IX", {}, {}, {{e, s}, {e, ee, se, s, es}}},
  }};
  return all;
}

std::vector<std::string_view> split_name(std::string_view name) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (;;) {
    auto pos = name.find('_', start);
    parts.push_back(name.substr(start, pos - start));
    if (pos == std::string_view::npos)
      return parts;
    start = pos + 1;
  }
}

key32 to_key(std::span<const std::uint8_t> b) {
  key32 k;
  std::copy_n(b.begin(), 32, k.begin());
  return k;
}

/// The hfs form of an interactive pattern (noise_hfs_spec revision 1, section 5): "e1" directly
/// after the first "e", or after the first DH token following it in the same message (so the KEM
/// key is encrypted); "ekem1" directly after the first "ee".
handshake_pattern with_hfs(const handshake_pattern& base) {
  handshake_pattern p = base;
  p.name += "hfs";
  bool placed_e1 = false;
  bool placed_ekem1 = false;
  for (auto& msg : p.messages) {
    auto first_e = std::find(msg.begin(), msg.end(), e);
    if (!placed_e1 && first_e != msg.end()) {
      auto dh_after = std::find_if(
          first_e, msg.end(), [](token t) { return t == ee || t == es || t == se || t == ss; });
      msg.insert(dh_after == msg.end() ? first_e + 1 : dh_after + 1, e1);
      placed_e1 = true;
    }
    auto first_ee = std::find(msg.begin(), msg.end(), ee);
    if (!placed_ekem1 && first_ee != msg.end()) {
      msg.insert(first_ee + 1, ekem1);
      placed_ekem1 = true;
    }
  }
  return p;
}

const std::vector<handshake_pattern>& hfs_patterns() {
  static const std::vector<handshake_pattern> all = [] {
    std::vector<handshake_pattern> out;
    for (const auto& p : patterns())
      if (p.messages.size() > 1 && p.name != "KK")
        out.push_back(with_hfs(p));
    return out;
  }();
  return all;
}

} // namespace

const handshake_pattern* find_pattern(std::string_view name) {
  for (const auto& p : patterns())
    if (p.name == name)
      return &p;
  for (const auto& p : hfs_patterns())
    if (p.name == name)
      return &p;
  return nullptr;
}

std::optional<protocol> parse_protocol_name(std::string_view name, std::string& why) {
  auto parts = split_name(name);
  if (parts.size() != 5 || parts[0] != "Noise") {
    why = "not of the form Noise_<pattern>_<dh>_<cipher>_<hash>";
    return std::nullopt;
  }
  protocol p;
  p.name = std::string{name};
  p.pattern = find_pattern(parts[1]);
  if (!p.pattern) {
    why = "pattern " + std::string{parts[1]}
          + (parts[1].find("psk") != std::string_view::npos ? " (PSK modifiers are not supported)"
                                                            : " is not supported");
    return std::nullopt;
  }
  const bool hfs = parts[1].ends_with("hfs");
  if (parts[2] != (hfs ? "25519+MLKEM768" : "25519")) {
    why = "DH function " + std::string{parts[2]} + " is not supported with pattern "
          + std::string{parts[1]} + (hfs ? " (only 25519+MLKEM768)" : " (only 25519)");
    return std::nullopt;
  }
  p.kem = hfs;
  auto cipher = parse_cipher(parts[3]);
  auto hash = parse_hash(parts[4]);
  if (!cipher || !hash) {
    why = "cipher " + std::string{parts[3]} + " or hash " + std::string{parts[4]}
          + " is not supported";
    return std::nullopt;
  }
  p.cipher = *cipher;
  p.hash = *hash;
  return p;
}

keypair keypair::generate(Botan::RandomNumberGenerator& rng) {
  std::array<std::uint8_t, 32> secret;
  rng.randomize(secret.data(), secret.size());
  return from_private(secret);
}

keypair keypair::from_private(std::span<const std::uint8_t> private_key) {
  keypair kp;
  auto key = std::make_shared<Botan::X25519_PrivateKey>(
      Botan::secure_vector<std::uint8_t>(private_key.begin(), private_key.end()));
  kp.public_key = to_key(key->public_value());
  kp.key = std::move(key);
  return kp;
}

handshake_state::handshake_state(handshake_config config, Botan::RandomNumberGenerator& rng)
    : proto_(std::move(config.proto)), initiator_(config.initiator), rng_(rng),
      symmetric_(proto_.cipher, proto_.hash), s_(std::move(config.s)), e_(std::move(config.e)),
      rs_(config.rs), re_(config.re), kem_randomness_(std::move(config.kem_randomness)) {
  if (config.e1_seed)
    e1_ = kem_keypair::from_seed(*config.e1_seed);
  symmetric_.initialize_symmetric(proto_.name);
  symmetric_.mix_hash(config.prologue);
  // Pre-messages: the initiator's keys first, then the responder's (section 5.3).
  auto mix_pre = [&](const std::vector<token>& tokens, bool initiators) {
    const bool mine = initiators == initiator_;
    for (auto t : tokens) {
      const std::optional<key32>* remote = t == e ? &re_ : &rs_;
      const std::optional<keypair>& local = t == e ? e_ : s_;
      if (mine && local)
        symmetric_.mix_hash(local->public_key);
      else if (!mine && *remote)
        symmetric_.mix_hash(**remote);
      else
        status_ = handshake_result::missing_key;
    }
  };
  mix_pre(proto_.pattern->pre_initiator, true);
  mix_pre(proto_.pattern->pre_responder, false);
}

bool handshake_state::my_turn() const {
  return !finished() && ((next_message_ % 2 == 0) == initiator_);
}

handshake_result handshake_state::dh(const std::optional<keypair>& local,
                                     const std::optional<key32>& remote) {
  if (!local || !remote)
    return handshake_result::missing_key;
  Botan::Null_RNG null_rng; // X25519 agreement draws no randomness
  try {
    Botan::PK_Key_Agreement agreement{*local->key, null_rng, "Raw"};
    auto shared = agreement.derive_key(0, remote->data(), remote->size()).bits_of();
    if (std::all_of(shared.begin(), shared.end(), [](auto b) { return b == 0; }))
      return handshake_result::malformed_message;
    symmetric_.mix_key(shared);
  } catch (const Botan::Exception&) {
    return handshake_result::malformed_message; // a low-order point gives the zero output
  }
  return handshake_result::ok;
}

handshake_result handshake_state::mix_dh(token t) {
  // "es" is DH(e, rs) for the initiator and DH(s, re) for the responder: the same value.
  switch (t) {
  case ee:
    return dh(e_, re_);
  case es:
    return initiator_ ? dh(e_, rs_) : dh(s_, re_);
  case se:
    return initiator_ ? dh(s_, re_) : dh(e_, rs_);
  case ss:
    return dh(s_, rs_);
  default:
    return handshake_result::malformed_message; // not a DH token
  }
}

handshake_result handshake_state::write_kem_token(token t, bytes& out) {
  if (t == e1) {
    if (!e1_)
      e1_ = kem_keypair::generate(rng_);
    if (symmetric_.encrypt_and_hash(e1_->public_key, out) != cipher_result::ok)
      return handshake_result::malformed_message;
    return handshake_result::ok;
  }
  // ekem1: encapsulate to the peer's e1, send the ciphertext, mix the shared secret.
  std::optional<kem_encapsulation> enc;
  if (kem_randomness_) {
    fixed_randomness preset{*kem_randomness_};
    enc = kem_encapsulate(re1_, preset);
  } else {
    enc = kem_encapsulate(re1_, rng_);
  }
  if (!enc)
    return re1_.empty() ? handshake_result::missing_key : handshake_result::malformed_message;
  if (symmetric_.encrypt_and_hash(enc->ciphertext, out) != cipher_result::ok)
    return handshake_result::malformed_message;
  symmetric_.mix_key(enc->shared_secret);
  return handshake_result::ok;
}

handshake_result handshake_state::read_kem_token(token t, std::span<const std::uint8_t> message,
                                                 std::size_t& pos) {
  const std::size_t len =
      (t == e1 ? kem_public_key_size : kem_ciphertext_size) + (symmetric_.has_key() ? tag_size : 0);
  if (message.size() - pos < len)
    return handshake_result::malformed_message;
  bytes plain;
  if (symmetric_.decrypt_and_hash(message.subspan(pos, len), plain) != cipher_result::ok)
    return handshake_result::authentication_failed;
  pos += len;
  if (t == e1) {
    re1_ = std::move(plain);
    return handshake_result::ok;
  }
  if (!e1_)
    return handshake_result::missing_key;
  auto shared = kem_decapsulate(*e1_, plain);
  if (!shared)
    return handshake_result::malformed_message;
  symmetric_.mix_key(*shared);
  return handshake_result::ok;
}

handshake_result handshake_state::write_message(std::span<const std::uint8_t> payload, bytes& out) {
  if (status_ != handshake_result::ok)
    return status_;
  if (!my_turn())
    return handshake_result::wrong_turn;
  auto fail = [&](handshake_result r) { return status_ = r; };
  for (auto t : proto_.pattern->messages[next_message_]) {
    handshake_result r = handshake_result::ok;
    switch (t) {
    case e:
      if (!e_)
        e_ = keypair::generate(rng_);
      out.insert(out.end(), e_->public_key.begin(), e_->public_key.end());
      symmetric_.mix_hash(e_->public_key);
      break;
    case s:
      if (!s_)
        return fail(handshake_result::missing_key);
      if (symmetric_.encrypt_and_hash(s_->public_key, out) != cipher_result::ok)
        return fail(handshake_result::malformed_message);
      break;
    case e1:
    case ekem1:
      r = write_kem_token(t, out);
      break;
    default:
      r = mix_dh(t);
      break;
    }
    if (r != handshake_result::ok)
      return fail(r);
  }
  if (symmetric_.encrypt_and_hash(payload, out) != cipher_result::ok)
    return fail(handshake_result::malformed_message);
  ++next_message_;
  return handshake_result::ok;
}

handshake_result handshake_state::read_message(std::span<const std::uint8_t> message,
                                               bytes& payload) {
  if (status_ != handshake_result::ok)
    return status_;
  if (finished() || my_turn())
    return handshake_result::wrong_turn;
  auto fail = [&](handshake_result r) { return status_ = r; };
  std::size_t pos = 0;
  for (auto t : proto_.pattern->messages[next_message_]) {
    handshake_result r = handshake_result::ok;
    switch (t) {
    case e:
      if (message.size() - pos < dh_length)
        return fail(handshake_result::malformed_message);
      re_ = to_key(message.subspan(pos, dh_length));
      symmetric_.mix_hash(*re_);
      pos += dh_length;
      break;
    case s: {
      const std::size_t len = dh_length + (symmetric_.has_key() ? tag_size : 0);
      if (message.size() - pos < len)
        return fail(handshake_result::malformed_message);
      bytes plain;
      if (symmetric_.decrypt_and_hash(message.subspan(pos, len), plain) != cipher_result::ok)
        return fail(handshake_result::authentication_failed);
      rs_ = to_key(plain);
      pos += len;
      break;
    }
    case e1:
    case ekem1:
      r = read_kem_token(t, message, pos);
      break;
    default:
      r = mix_dh(t);
      break;
    }
    if (r != handshake_result::ok)
      return fail(r);
  }
  auto rest = message.subspan(pos);
  if (symmetric_.has_key() && rest.size() < tag_size)
    return fail(handshake_result::malformed_message);
  if (symmetric_.decrypt_and_hash(rest, payload) != cipher_result::ok)
    return fail(handshake_result::authentication_failed);
  ++next_message_;
  return handshake_result::ok;
}

} // namespace qtc::noise
