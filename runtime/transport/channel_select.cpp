#include "runtime/transport/channel_select.hpp"

namespace qtc {

std::string to_string(transport_kind x) {
  return x == transport_kind::tls ? "tls" : "noise";
}

std::unique_ptr<secure_channel> make_initiator(transport_kind kind, const channel_context& ctx,
                                               std::optional<static_public_key> pinned) {
  if (kind == transport_kind::tls)
    return std::make_unique<tls_channel>(channel_role::initiator, *ctx.identity, ctx.magic, pinned,
                                         *ctx.rng, ctx.tls);
  auto mode =
      kind == transport_kind::noise_classical ? noise_mode::classical : first_noise_mode(ctx.pq);
  return std::make_unique<noise_channel>(channel_role::initiator, ctx.noise_static, ctx.magic,
                                         pinned, *ctx.rng, ctx.noise_payload, ctx.pq, mode);
}

transport_kind first_transport(bool peer_tls_only) {
  return peer_tls_only ? transport_kind::tls : transport_kind::noise;
}

std::optional<std::string> classical_fallback_reason(pq_policy policy, transport_kind tried,
                                                     transport_error error) {
  if (policy != pq_policy::preferred || tried != transport_kind::noise
      || error != transport_error::peer_not_post_quantum)
    return std::nullopt;
  return "the peer refused the hybrid (post-quantum) Noise handshake and speaks classical only; "
         "retrying in classical mode (pq = preferred)";
}

std::optional<std::string> tls_fallback_reason(transport_kind tried, transport_error error) {
  if (tried == transport_kind::tls || error != transport_error::not_noise)
    return std::nullopt;
  return "the peer did not answer the Noise handshake as a Noise responder (it sent a TLS record "
         "or another protocol's bytes, or closed the connection on message 1); retrying over TLS "
         "1.3";
}

sniffing_responder::sniffing_responder(channel_context ctx) : ctx_(std::move(ctx)) {}

std::string_view sniffing_responder::kind() const {
  return inner_ ? inner_->kind() : "undecided";
}

transport_error sniffing_responder::start(bytes&) {
  return failure_ == transport_error::none ? transport_error::none : transport_error::closed;
}

transport_error sniffing_responder::receive(std::span<const std::uint8_t> in, bytes& out,
                                            bytes& plain) {
  if (inner_)
    return inner_->receive(in, out, plain);
  if (failure_ != transport_error::none)
    return transport_error::closed;
  // One rule, whatever pieces the stream arrives in: the first three bytes decide. Bytes that
  // can still begin `16 03 01..03` are held until the third arrives; anything else is Noise.
  head_.insert(head_.end(), in.begin(), in.end());
  if (head_.empty())
    return transport_error::none;
  auto tls = looks_like_tls_client_hello(head_);
  if (tls && head_.size() < tls_sniff_size)
    return transport_error::none;
  if (tls)
    inner_ = std::make_unique<tls_channel>(channel_role::responder, *ctx_.identity, ctx_.magic,
                                           std::nullopt, *ctx_.rng, ctx_.tls);
  else
    inner_ = std::make_unique<noise_channel>(channel_role::responder, ctx_.noise_static, ctx_.magic,
                                             std::nullopt, *ctx_.rng, ctx_.noise_payload, ctx_.pq);
  if (auto e = inner_->start(out); e != transport_error::none)
    return e;
  bytes first;
  first.swap(head_);
  return inner_->receive(first, out, plain);
}

transport_error sniffing_responder::send(std::span<const std::uint8_t> plain, bytes& out) {
  return inner_ ? inner_->send(plain, out) : transport_error::not_established;
}

transport_error sniffing_responder::end_of_stream() {
  if (inner_)
    return inner_->end_of_stream();
  if (failure_ == transport_error::none)
    failure_ = transport_error::truncated; // closed before the transport could be told
  return failure_;
}

bool sniffing_responder::established() const {
  return inner_ && inner_->established();
}

std::optional<static_public_key> sniffing_responder::remote_static() const {
  return inner_ ? inner_->remote_static() : std::nullopt;
}

transport_error sniffing_responder::failure() const {
  return inner_ ? inner_->failure() : failure_;
}

bytes sniffing_responder::session_binding() const {
  return inner_ ? inner_->session_binding() : bytes{};
}

bool sniffing_responder::post_quantum() const {
  return inner_ && inner_->post_quantum();
}

void sniffing_responder::release_spare_capacity(std::size_t keep) {
  if (inner_)
    inner_->release_spare_capacity(keep);
}

bool sniffing_responder::peer_closed() const {
  return inner_ && inner_->peer_closed();
}

} // namespace qtc
