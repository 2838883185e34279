#include "runtime/transport/noise_channel.hpp"

#include <algorithm>

namespace qtc {

namespace {

/// Message 1: the initiator's ephemeral key, then magic (4) || transport version (1) in clear.
constexpr std::size_t message1_payload_size = 5;
constexpr std::size_t message1_size = 32 + message1_payload_size;
/// The smallest message 2: ephemeral, encrypted static, encrypted 21-byte payload.
constexpr std::size_t message2_min_size = 32 + 48 + noise_handshake_payload_size + noise::tag_size;
constexpr std::size_t max_handshake_payload = 1024;

bytes prologue(const std::array<std::uint8_t, 4>& magic) {
  bytes p(noise_prologue_label.begin(), noise_prologue_label.end());
  p.insert(p.end(), magic.begin(), magic.end());
  return p;
}

noise::handshake_config config(channel_role role, noise::keypair static_key,
                               const std::array<std::uint8_t, 4>& magic) {
  std::string why;
  noise::handshake_config c;
  c.proto = *noise::parse_protocol_name(noise_protocol_name, why);
  c.initiator = role == channel_role::initiator;
  c.prologue = prologue(magic);
  c.s = std::move(static_key);
  return c;
}

} // namespace

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
                             Botan::RandomNumberGenerator& rng, noise_handshake_payload local)
    : role_(role), magic_(magic), pinned_(pinned), local_(local),
      handshake_(config(role, std::move(static_key), magic), rng) {}

std::optional<static_public_key> noise_channel::remote_static() const {
  return handshake_.remote_static();
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
  bytes msg;
  if (handshake_.write_message(payload, msg) != noise::handshake_result::ok)
    return fail(transport_error::malformed_message);
  write_frame(msg, out);
  return transport_error::none;
}

void noise_channel::finish_handshake() {
  auto [initiator_to_responder, responder_to_initiator] = handshake_.split();
  const bool initiator = role_ == channel_role::initiator;
  send_.cipher = std::move(initiator ? initiator_to_responder : responder_to_initiator);
  receive_.cipher = std::move(initiator ? responder_to_initiator : initiator_to_responder);
  send_.after_messages = local_.rekey_after_messages;
  send_.after_bytes = local_.rekey_after_bytes;
  receive_.after_messages = remote_->rekey_after_messages;
  receive_.after_bytes = remote_->rekey_after_bytes;
  established_ = true;
}

transport_error noise_channel::on_handshake_message(std::span<const std::uint8_t> msg, bytes& out) {
  bytes payload;
  const bool initiator = role_ == channel_role::initiator;
  if (!initiator && !handshake_.remote_ephemeral()) {
    // Message 1: check the clear network magic before anything else.
    if (msg.size() != message1_size)
      return fail(transport_error::malformed_message);
    if (handshake_.read_message(msg, payload) != noise::handshake_result::ok)
      return fail(transport_error::malformed_message);
    if (!std::equal(magic_.begin(), magic_.end(), payload.begin())
        || payload[4] != noise_transport_version)
      return fail(transport_error::wrong_network);
    bytes reply;
    if (handshake_.write_message(encode(local_), reply) != noise::handshake_result::ok)
      return fail(transport_error::malformed_message);
    write_frame(reply, out);
    return transport_error::none;
  }
  auto r = handshake_.read_message(msg, payload);
  if (r == noise::handshake_result::authentication_failed)
    return fail(transport_error::authentication_failed);
  if (r != noise::handshake_result::ok)
    return fail(transport_error::malformed_message);
  remote_ = decode_noise_handshake_payload(payload);
  if (!remote_)
    return fail(transport_error::malformed_message);
  if (remote_->version != noise_transport_version)
    return fail(transport_error::wrong_network);
  if (pinned_ && handshake_.remote_static() != *pinned_)
    return fail(transport_error::pin_mismatch);
  if (initiator) {
    bytes reply;
    if (handshake_.write_message(encode(local_), reply) != noise::handshake_result::ok)
      return fail(transport_error::malformed_message);
    write_frame(reply, out);
  }
  finish_handshake();
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
    // The first bytes of a Noise message 2 are its length; a TLS record starts with its content
    // type (0x15 alert, 0x16 handshake), which reads as a length far above any message 2.
    if (rx_.size() < 2)
      return transport_error::none;
    std::size_t len = (std::size_t{rx_[0]} << 8) | rx_[1];
    if (len < message2_min_size || len > message2_min_size + max_handshake_payload)
      return fail(transport_error::not_noise);
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
