#include "runtime/transport/noise_channel.hpp"

#include <algorithm>

namespace qtc {

namespace {

/// Message 1's payload: magic (4) || transport version (1), in clear.
constexpr std::size_t message1_payload_size = 5;
/// The first frame: mode byte, then Noise message 1 (ephemeral, [KEM key,] payload).
std::size_t first_frame_size(noise_mode mode) {
  return 1 + 32 + (mode == noise_mode::hybrid ? noise::kem_public_key_size : 0)
         + message1_payload_size;
}
/// The smallest message 2: ephemeral, [encrypted KEM ciphertext,] encrypted static, encrypted
/// 21-byte payload.
std::size_t message2_min_size(noise_mode mode) {
  return 32 + (mode == noise_mode::hybrid ? noise::kem_ciphertext_size + noise::tag_size : 0) + 48
         + noise_handshake_payload_size + noise::tag_size;
}
constexpr std::size_t max_handshake_payload = 1024;
constexpr std::size_t refusal_size = 2;

bytes prologue(const std::array<std::uint8_t, 4>& magic, noise_mode mode) {
  bytes p(noise_prologue_label.begin(), noise_prologue_label.end());
  p.insert(p.end(), magic.begin(), magic.end());
  p.push_back(static_cast<std::uint8_t>(mode));
  return p;
}

noise::handshake_config config(channel_role role, noise::keypair static_key,
                               const std::array<std::uint8_t, 4>& magic, noise_mode mode) {
  std::string why;
  noise::handshake_config c;
  c.proto = *noise::parse_protocol_name(
      mode == noise_mode::hybrid ? noise_hybrid_protocol_name : noise_protocol_name, why);
  c.initiator = role == channel_role::initiator;
  c.prologue = prologue(magic, mode);
  c.s = std::move(static_key);
  return c;
}

bool accepts(pq_policy policy, noise_mode mode) {
  return mode == noise_mode::hybrid ? policy != pq_policy::off : policy != pq_policy::required;
}

} // namespace

noise_mode first_noise_mode(pq_policy policy) {
  return policy == pq_policy::off ? noise_mode::classical : noise_mode::hybrid;
}

bytes encode(const noise_handshake_payload& p) {
  bytes out;
  byte_writer w{out};
  w.u8(p.version);
  w.u64le(p.features);
  w.u32le(p.rekey_after_messages);
  w.u64le(p.rekey_after_bytes);
  return out;
}

std::optional<noise_handshake_payload>
decode_noise_handshake_payload(std::span<const std::uint8_t> b) {
  if (b.size() < noise_handshake_payload_size || b.size() > max_handshake_payload)
    return std::nullopt;
  byte_reader r{b};
  noise_handshake_payload p;
  p.version = r.u8();
  p.features = r.u64le();
  p.rekey_after_messages = r.u32le();
  p.rekey_after_bytes = r.u64le();
  if (!r.ok() || p.rekey_after_messages == 0 || p.rekey_after_bytes == 0)
    return std::nullopt;
  return p;
}

void noise_channel::direction::count(std::size_t ciphertext_size) {
  ++messages;
  bytes_since += ciphertext_size;
  if (messages >= after_messages || bytes_since >= after_bytes) {
    cipher.rekey();
    ++rekeys;
    messages = 0;
    bytes_since = 0;
  }
}

noise_channel::noise_channel(channel_role role, noise::keypair static_key,
                             std::array<std::uint8_t, 4> magic,
                             std::optional<static_public_key> pinned,
                             Botan::RandomNumberGenerator& rng, noise_handshake_payload local,
                             pq_policy policy, std::optional<noise_mode> mode)
    : role_(role), magic_(magic), pinned_(pinned), rng_(rng), static_key_(std::move(static_key)),
      policy_(policy), local_(local) {
  if (policy == pq_policy::off)
    local_.features &= ~noise_feature::post_quantum;
  else
    local_.features |= noise_feature::post_quantum;
  if (role == channel_role::initiator)
    begin_handshake(mode.value_or(first_noise_mode(policy)));
}

void noise_channel::begin_handshake(noise_mode mode) {
  mode_ = mode;
  handshake_.emplace(config(role_, static_key_, magic_, mode), rng_);
}

std::optional<static_public_key> noise_channel::remote_static() const {
  if (established_)
    return remote_static_;
  return handshake_ ? handshake_->remote_static() : std::nullopt;
}

const bytes& noise_channel::handshake_hash() const {
  static const bytes none;
  if (established_)
    return handshake_hash_;
  return handshake_ ? handshake_->handshake_hash() : none;
}

transport_error noise_channel::fail(transport_error e) {
  if (failure_ == transport_error::none)
    failure_ = e;
  rx_.clear();
  return e;
}

void noise_channel::write_frame(std::span<const std::uint8_t> message, bytes& out) const {
  out.push_back(static_cast<std::uint8_t>(message.size() >> 8));
  out.push_back(static_cast<std::uint8_t>(message.size()));
  out.insert(out.end(), message.begin(), message.end());
}

transport_error noise_channel::start(bytes& out) {
  if (failure_ != transport_error::none)
    return transport_error::closed;
  started_ = true;
  if (role_ == channel_role::responder)
    return transport_error::none;
  bytes payload(magic_.begin(), magic_.end());
  payload.push_back(noise_transport_version);
  bytes msg{static_cast<std::uint8_t>(*mode_)};
  if (handshake_->write_message(payload, msg) != noise::handshake_result::ok)
    return fail(transport_error::malformed_message);
  write_frame(msg, out);
  return transport_error::none;
}

void noise_channel::finish_handshake() {
  auto [initiator_to_responder, responder_to_initiator] = handshake_->split();
  const bool initiator = role_ == channel_role::initiator;
  send_.cipher = std::move(initiator ? initiator_to_responder : responder_to_initiator);
  receive_.cipher = std::move(initiator ? responder_to_initiator : initiator_to_responder);
  send_.after_messages = local_.rekey_after_messages;
  send_.after_bytes = local_.rekey_after_bytes;
  receive_.after_messages = remote_->rekey_after_messages;
  receive_.after_bytes = remote_->rekey_after_bytes;
  // What the session still asks of the handshake is kept; the handshake state itself (the
  // ML-KEM key pair Botan holds expanded, the ephemeral keys, the symmetric state) goes: it was
  // about 28 KiB of every idle peer's memory after a hybrid handshake.
  remote_static_ = handshake_->remote_static();
  handshake_hash_ = handshake_->handshake_hash();
  handshake_.reset();
  established_ = true;
}

transport_error noise_channel::on_first_message(std::span<const std::uint8_t> frame, bytes& out) {
  // The mode byte, then Noise message 1; the clear network magic is checked before anything else.
  if (frame.empty() || frame[0] > static_cast<std::uint8_t>(noise_mode::hybrid))
    return fail(transport_error::malformed_message);
  const auto mode = static_cast<noise_mode>(frame[0]);
  if (!accepts(policy_, mode)) {
    // Say which mode we speak, so the peer can name the problem, then close.
    write_frame(
        std::array<std::uint8_t, refusal_size>{
            noise_refusal_marker, static_cast<std::uint8_t>(first_noise_mode(policy_))},
        out);
    mode_ = mode;
    return fail(mode == noise_mode::classical ? transport_error::peer_not_post_quantum
                                              : transport_error::peer_requires_post_quantum);
  }
  if (frame.size() != first_frame_size(mode))
    return fail(transport_error::malformed_message);
  begin_handshake(mode);
  bytes payload;
  if (handshake_->read_message(frame.subspan(1), payload) != noise::handshake_result::ok)
    return fail(transport_error::malformed_message);
  if (!std::equal(magic_.begin(), magic_.end(), payload.begin())
      || payload[4] != noise_transport_version)
    return fail(transport_error::wrong_network);
  bytes reply;
  if (handshake_->write_message(encode(local_), reply) != noise::handshake_result::ok)
    return fail(transport_error::malformed_message);
  write_frame(reply, out);
  return transport_error::none;
}

transport_error noise_channel::check_remote_payload(std::span<const std::uint8_t> payload) {
  remote_ = decode_noise_handshake_payload(payload);
  if (!remote_)
    return fail(transport_error::malformed_message);
  if (remote_->version != noise_transport_version)
    return fail(transport_error::wrong_network);
  // Two nodes that both speak the hybrid never agree on classical unless someone forged a
  // refusal: the authenticated feature bit tells.
  if (*mode_ == noise_mode::classical && policy_ != pq_policy::off
      && (remote_->features & noise_feature::post_quantum))
    return fail(transport_error::downgrade_detected);
  if (pinned_ && handshake_->remote_static() != *pinned_)
    return fail(transport_error::pin_mismatch);
  return transport_error::none;
}

transport_error noise_channel::on_handshake_message(std::span<const std::uint8_t> msg, bytes& out) {
  const bool initiator = role_ == channel_role::initiator;
  if (!initiator && !handshake_)
    return on_first_message(msg, out);
  bytes payload;
  auto r = handshake_->read_message(msg, payload);
  if (r == noise::handshake_result::authentication_failed)
    return fail(transport_error::authentication_failed);
  if (r != noise::handshake_result::ok)
    return fail(transport_error::malformed_message);
  if (auto e = check_remote_payload(payload); e != transport_error::none)
    return e;
  if (initiator) {
    bytes reply;
    if (handshake_->write_message(encode(local_), reply) != noise::handshake_result::ok)
      return fail(transport_error::malformed_message);
    write_frame(reply, out);
  }
  finish_handshake();
  return transport_error::none;
}

transport_error noise_channel::check_first_reply(std::span<const std::uint8_t> rx) {
  // The first bytes of a Noise message 2 are its length; a TLS record starts with its content
  // type (0x15 alert, 0x16 handshake), which reads as a length far above any message 2.
  std::size_t len = (std::size_t{rx[0]} << 8) | rx[1];
  if (len == refusal_size) {
    if (rx.size() < 2 + refusal_size)
      return transport_error::none;
    if (rx[2] != noise_refusal_marker || rx[3] > static_cast<std::uint8_t>(noise_mode::hybrid))
      return fail(transport_error::not_noise);
    // A refusal that asks for the mode we sent: our first frame was rewritten on the way.
    if (rx[3] == static_cast<std::uint8_t>(*mode_))
      return fail(transport_error::downgrade_detected);
    return fail(rx[3] == static_cast<std::uint8_t>(noise_mode::hybrid)
                    ? transport_error::peer_requires_post_quantum
                    : transport_error::peer_not_post_quantum);
  }
  if (len < message2_min_size(*mode_) || len > message2_min_size(*mode_) + max_handshake_payload)
    return fail(transport_error::not_noise);
  return transport_error::none;
}

transport_error noise_channel::receive(std::span<const std::uint8_t> in, bytes& out, bytes& plain) {
  if (failure_ != transport_error::none)
    return transport_error::closed;
  if (!started_)
    return fail(transport_error::not_established);
  if (in.empty())
    return transport_error::none;
  rx_.insert(rx_.end(), in.begin(), in.end());
  if (role_ == channel_role::initiator && !received_anything_) {
    if (rx_.size() < 2)
      return transport_error::none;
    if (auto e = check_first_reply(rx_); e != transport_error::none)
      return e;
    if (((std::size_t{rx_[0]} << 8) | rx_[1]) == refusal_size)
      return transport_error::none; // a refusal frame still arriving
  }
  received_anything_ = true;
  std::size_t pos = 0;
  while (rx_.size() - pos >= 2) {
    std::size_t len = (std::size_t{rx_[pos]} << 8) | rx_[pos + 1];
    if (rx_.size() - pos - 2 < len)
      break;
    std::span<const std::uint8_t> msg{rx_.data() + pos + 2, len};
    pos += 2 + len;
    if (!established_) {
      if (auto e = on_handshake_message(msg, out); e != transport_error::none)
        return e;
      continue;
    }
    if (len < noise::tag_size)
      return fail(transport_error::malformed_message);
    auto r = receive_.cipher.decrypt_with_ad({}, msg, plain);
    if (r == noise::cipher_result::nonce_exhausted)
      return fail(transport_error::nonce_exhausted);
    if (r != noise::cipher_result::ok)
      return fail(transport_error::authentication_failed);
    receive_.count(len);
  }
  rx_.erase(rx_.begin(), rx_.begin() + static_cast<std::ptrdiff_t>(pos));
  return transport_error::none;
}

transport_error noise_channel::send(std::span<const std::uint8_t> plain, bytes& out) {
  if (failure_ != transport_error::none)
    return transport_error::closed;
  if (!established_)
    return transport_error::not_established;
  while (!plain.empty()) {
    auto chunk = plain.first(std::min(plain.size(), max_noise_plaintext));
    plain = plain.subspan(chunk.size());
    auto header = out.size();
    out.resize(header + 2);
    if (send_.cipher.encrypt_with_ad({}, chunk, out) != noise::cipher_result::ok)
      return fail(transport_error::nonce_exhausted);
    auto len = out.size() - header - 2;
    out[header] = static_cast<std::uint8_t>(len >> 8);
    out[header + 1] = static_cast<std::uint8_t>(len);
    send_.count(len);
  }
  return transport_error::none;
}

void noise_channel::release_spare_capacity(std::size_t keep) {
  if (rx_.empty() && rx_.capacity() > keep)
    bytes{}.swap(rx_);
}

transport_error noise_channel::end_of_stream() {
  if (failure_ != transport_error::none)
    return failure_;
  if (role_ == channel_role::initiator && !received_anything_ && started_)
    return fail(transport_error::not_noise); // the peer hung up on our Noise message 1
  if (!established_ || !rx_.empty())
    return fail(transport_error::truncated);
  return transport_error::none;
}

} // namespace qtc
