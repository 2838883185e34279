#include "runtime/session/peer_session_core.hpp"

#include "messages/primitives/hex.hpp"

#include <type_traits>

namespace qtc {

namespace {

bool is_handshake_command(std::string_view command) {
  return command == "version" || command == "verack";
}

/// Receive buffers that hold nothing keep at most this much capacity past a tick: room for a
/// few of an idle link's 1 KiB reads (actors/tcp_link.cpp) and any ordinary small message,
/// without one allocation per read.
constexpr std::size_t spare_buffer_kept = 4096;
/// How long after the last traffic a tick trims the buffers (and again while traffic goes on).
constexpr auto trim_delay = std::chrono::seconds{1};

} // namespace

std::string to_string(session_phase x) {
  switch (x) {
  case session_phase::connecting:
    return "connecting";
  case session_phase::transport_handshake:
    return "transport-handshake";
  case session_phase::version_handshake:
    return "version-handshake";
  case session_phase::ready:
    return "ready";
  case session_phase::closed:
    return "closed";
  }
  return "unknown";
}

peer_session_core::peer_session_core(session_settings settings, channel_role role,
                                     std::unique_ptr<secure_channel> channel, net_address remote,
                                     std::uint64_t seed, time_point now)
    : settings_(std::move(settings)), role_(role), channel_(std::move(channel)), remote_(remote),
      nonce_state_(seed), decoder_(settings_.magic, settings_.max_message_size),
      phase_(role == channel_role::initiator ? session_phase::connecting
                                             : session_phase::transport_handshake),
      started_(now), established_(now), last_received_(now), last_written_(now) {}

void peer_session_core::start(time_point now) {
  started_ = now;
  last_received_ = now;
  if (auto e = channel_->start(output_); e != transport_error::none) {
    transport_failure_ = e;
    fail(close_reason::transport_failed, describe(e));
  }
}

void peer_session_core::received(std::span<const std::uint8_t> data, time_point now) {
  if (phase_ == session_phase::closed || data.empty())
    return;
  if (phase_ == session_phase::connecting)
    phase_ = session_phase::transport_handshake;
  counters_.bytes_received += data.size();
  last_received_ = now;
  bytes plain;
  auto was_established = channel_->established();
  if (auto e = channel_->receive(data, output_, plain); e != transport_error::none) {
    transport_failure_ = e;
    fail(close_reason::transport_failed, describe(e));
    return;
  }
  if (!was_established && channel_->established())
    on_established(now);
  if (!plain.empty())
    on_plain(plain, now);
  // After the frames that came before it: a close_notify is the peer hanging up cleanly, not a
  // transport failure (docs/protocol.md, "After the handshake"). Our answer is in output_.
  if (phase_ != session_phase::closed && channel_->peer_closed())
    fail(close_reason::peer_closed, "the peer ended the TLS session (close_notify)");
}

void peer_session_core::on_plain(const bytes& plain, time_point now) {
  decoder_.feed(plain);
  take_frames(now);
}

/// Decodes and handles frames until none is left or one must wait for allowance.
void peer_session_core::take_frames(time_point now) {
  while (phase_ != session_phase::closed) {
    if (!held_) {
      auto f = decoder_.next();
      if (!f)
        break;
      held_ = std::move(*f);
    }
    if (!admit(*held_)) {
      partial_since_.reset(); // what waits is ours to read, not the peer's to finish
      return;                 // what follows stays in the decoder until the allowance comes
    }
    auto f = std::move(*held_);
    held_.reset();
    partial_since_.reset();
    on_frame(std::move(f), now);
  }
  if (decoder_.buffered() > 0 && !held_ && !partial_since_)
    partial_since_ = now;
  if (phase_ != session_phase::closed && decoder_.error() != wire_error::none) {
    wire_failure_ = decoder_.error();
    fail(close_reason::wire_error, frame_error_detail());
  }
}

/// Whether `f` may be handled now, taking its cost from the allowance if so.
bool peer_session_core::admit(const frame& f) {
  if (!settings_.rate_limited || phase_ != session_phase::ready)
    return true;
  auto cost = cost_of(f.command, f.payload.size());
  if (f.command == "getheaders" && headers_continuation_
      && first_locator_hash(f.payload) == headers_continuation_) {
    headers_continuation_.reset(); // the peer's sync goes on: free (traffic_cost.hpp)
    return true;
  }
  if (cost.messages > allowance_.messages || cost.bytes > allowance_.bytes) {
    if (!hold_counted_) {
      ++counters_.holds;
      hold_counted_ = true;
    }
    return false;
  }
  allowance_.messages -= cost.messages;
  allowance_.bytes -= cost.bytes;
  hold_counted_ = false;
  return true;
}

void peer_session_core::grant(std::uint32_t messages, std::uint64_t bytes, time_point now) {
  allowance_.messages += messages;
  allowance_.bytes += bytes;
  take_frames(now);
}

void peer_session_core::unlimit(time_point now) {
  settings_.rate_limited = false;
  take_frames(now);
}

std::optional<traffic_cost> peer_session_core::allowance_wanted() const {
  if (!held_ || phase_ == session_phase::closed)
    return std::nullopt;
  auto cost = cost_of(held_->command, held_->payload.size());
  traffic_cost lacking;
  lacking.messages = cost.messages > allowance_.messages ? cost.messages - allowance_.messages : 0;
  lacking.bytes = cost.bytes > allowance_.bytes ? cost.bytes - allowance_.bytes : 0;
  return lacking;
}

/// `command: error` like a payload error when the refused header named a command (a length
/// above the limit, a bad checksum); `frame: error` when there was none to read (wrong magic,
/// a malformed command field). docs/protocol.md, "Close reasons".
std::string peer_session_core::frame_error_detail() const {
  const auto& command = decoder_.error_command();
  return (command.empty() ? std::string{"frame"} : command) + ": " + to_string(decoder_.error());
}

void peer_session_core::written(std::uint64_t total_written, time_point now) {
  if (total_written > written_)
    last_written_ = now;
  written_ = total_written;
  if (phase_ == session_phase::connecting && total_written > 0)
    phase_ = session_phase::transport_handshake;
}

void peer_session_core::link_down(time_point, std::optional<bool> established) {
  if (phase_ == session_phase::closed)
    return;
  if (phase_ == session_phase::connecting && established.value_or(false))
    phase_ = session_phase::transport_handshake;
  if (phase_ == session_phase::connecting) {
    fail(close_reason::connect_failed, "the connection could not be made");
    return;
  }
  if (auto e = channel_->end_of_stream(); e != transport_error::none) {
    transport_failure_ = e;
    fail(close_reason::transport_failed, describe(e));
    return;
  }
  fail(close_reason::peer_closed, "the peer closed the connection");
}

void peer_session_core::tick(time_point now) {
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  auto ms = [](clock::duration d) {
    return std::to_string(duration_cast<milliseconds>(d).count());
  };
  switch (phase_) {
  case session_phase::connecting:
  case session_phase::transport_handshake:
    if (now - started_ >= settings_.connect_timeout)
      fail(close_reason::connect_timeout,
           to_string(phase_) + " took more than " + ms(settings_.connect_timeout) + " ms");
    break;
  case session_phase::version_handshake:
    if (!peer_id_ && now - established_ >= settings_.quantumproof_timeout)
      fail(close_reason::quantumproof_timeout,
           "no quantumproof within " + ms(settings_.quantumproof_timeout) + " ms");
    else if (now - established_ >= settings_.version_timeout)
      fail(close_reason::version_timeout,
           "no version/verack within " + ms(settings_.version_timeout) + " ms");
    break;
  case session_phase::ready:
    check_stalls(now);
    if (phase_ == session_phase::closed)
      break;
    if (now - last_received_ >= settings_.inactivity_timeout) {
      fail(close_reason::inactivity,
           "nothing received for " + ms(settings_.inactivity_timeout) + " ms");
    } else if (ping_nonce_) {
      if (now - ping_sent_ >= settings_.ping_timeout)
        fail(close_reason::ping_timeout, "no pong within " + ms(settings_.ping_timeout) + " ms");
    } else if (now >= next_ping_) {
      ping_nonce_ = next_nonce();
      ping_sent_ = now;
      send_message(ping_message{*ping_nonce_});
    }
    break;
  case session_phase::closed:
    break;
  }
  // A second after traffic, empty buffers give back what a large message made them grow to: on
  // an idle connection, the QuantumProof's 5.3 KB in two buffers had stayed for its whole life.
  if (phase_ == session_phase::ready) {
    decoder_.release_spare_capacity(spare_buffer_kept);
    channel_->release_spare_capacity(spare_buffer_kept);
    trimmed_ = now;
  }
}

peer_session_core::time_point peer_session_core::next_tick() const {
  switch (phase_) {
  case session_phase::connecting:
  case session_phase::transport_handshake:
    return started_ + settings_.connect_timeout;
  case session_phase::version_handshake:
    if (!peer_id_)
      return established_ + std::min(settings_.quantumproof_timeout, settings_.version_timeout);
    return established_ + settings_.version_timeout;
  case session_phase::closed:
    return time_point::max();
  case session_phase::ready:
    break;
  }
  auto due = std::min(last_received_ + settings_.inactivity_timeout,
                      ping_nonce_ ? ping_sent_ + settings_.ping_timeout : next_ping_);
  if (partial_since_)
    due = std::min(due, *partial_since_ + settings_.frame_timeout);
  if (counters_.bytes_sent > written_)
    due = std::min(due, last_written_ + settings_.send_stall_timeout);
  if (auto traffic = std::max(last_received_, last_written_); traffic >= trimmed_)
    due = std::min(due, traffic + trim_delay);
  return due;
}

std::uint64_t peer_session_core::next_nonce() {
  auto z = nonce_state_ += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

void peer_session_core::send(const p2p_message& msg) {
  if (phase_ == session_phase::ready)
    send_message(msg);
}

void peer_session_core::send_raw(std::string_view command, std::span<const std::uint8_t> payload) {
  if (phase_ != session_phase::ready)
    return;
  if (command == "headers")
    headers_continuation_ = last_of_full_headers(payload);
  bytes framed;
  append_frame(framed, settings_.magic, command, payload);
  count_sent(command, framed.size());
  write_plain(framed);
}

void peer_session_core::close(close_reason reason, std::string detail) {
  if (phase_ != session_phase::closed)
    fail(reason, std::move(detail));
}

bytes peer_session_core::take_output(time_point now) {
  bytes out;
  out.swap(output_);
  if (!out.empty() && counters_.bytes_sent == written_)
    last_written_ = now; // the send-stall clock starts when bytes begin to wait
  counters_.bytes_sent += out.size();
  return out;
}

std::vector<p2p_message> peer_session_core::take_messages() {
  std::vector<p2p_message> out;
  out.swap(inbox_);
  return out;
}

bool peer_session_core::take_ready() {
  auto result = ready_event_;
  ready_event_ = false;
  return result;
}

void peer_session_core::fail(close_reason reason, std::string detail) {
  phase_ = session_phase::closed;
  reason_ = reason;
  detail_ = std::move(detail);
}

void peer_session_core::on_established(time_point now) {
  phase_ = session_phase::version_handshake;
  established_ = now;
  // Our proof is our first message; the peer's must be its first.
  if (!settings_.identity) {
    fail(close_reason::session_failed, "no identity to sign a quantumproof with");
    return;
  }
  send_message(
      make_quantumproof(*settings_.identity, settings_.magic, role_, channel_->session_binding()));
  // The initiator speaks first, as in Bitcoin.
  if (role_ == channel_role::initiator)
    send_version();
}

void peer_session_core::send_version() {
  version_message v;
  v.version = settings_.protocol_version;
  v.services = settings_.services;
  // addr_from: where we can be reached if the NAT mapper knows (else zero, as Bitcoin Core
  // sends it); the receiver learns our address from `addr` self-advertisement as well.
  v.timestamp = 0;
  v.addr_recv = remote_;
  v.addr_from = settings_.local_address;
  v.nonce = settings_.local_nonce;
  v.user_agent = settings_.user_agent;
  v.start_height = settings_.start_height;
  v.relay = true;
  version_sent_ = true;
  send_message(v);
}

void peer_session_core::send_message(const p2p_message& msg) {
  bytes framed;
  append_message(framed, settings_.magic, msg);
  count_sent(command_of(msg), framed.size());
  write_plain(framed);
}

void peer_session_core::count_sent(std::string_view command, std::size_t frame_bytes) {
  auto& tally = counters_.sent_by_command[command_label_index(command)];
  ++tally.messages;
  tally.bytes += frame_bytes;
}

void peer_session_core::write_plain(const bytes& plain) {
  // After the peer's close_notify our own went out with the answer: nothing more can be sent,
  // and received() ends the session as peer-closed once the frames before it are taken.
  if (channel_->peer_closed())
    return;
  if (auto e = channel_->send(plain, output_); e != transport_error::none) {
    transport_failure_ = e;
    fail(close_reason::transport_failed, describe(e));
    return;
  }
  ++counters_.messages_sent;
  check_send_queue();
}

/// A frame trickled in, or answers nobody reads: each holds memory for a peer that does nothing.
void peer_session_core::check_stalls(time_point now) {
  using std::chrono::duration_cast;
  using std::chrono::seconds;
  if (partial_since_ && now - *partial_since_ >= settings_.frame_timeout) {
    fail(close_reason::frame_timeout,
         std::to_string(decoder_.buffered()) + " bytes of a frame, incomplete after "
             + std::to_string(duration_cast<seconds>(settings_.frame_timeout).count()) + " s");
    return;
  }
  // The stall clock runs while bytes wait, from when they began to or the last progress.
  auto unwritten = counters_.bytes_sent - written_;
  if (unwritten > 0 && now - last_written_ >= settings_.send_stall_timeout)
    fail(close_reason::send_stalled,
         std::to_string(unwritten) + " bytes unread by the peer, none written for "
             + std::to_string(duration_cast<seconds>(settings_.send_stall_timeout).count()) + " s");
}

void peer_session_core::check_send_queue() {
  if (pending_output() > settings_.max_send_queue)
    fail(close_reason::send_queue_full, std::to_string(pending_output())
                                            + " bytes not read by the peer (limit "
                                            + std::to_string(settings_.max_send_queue) + ")");
}

void peer_session_core::on_frame(frame f, time_point now) {
  ++counters_.messages_received;
  auto& tally = counters_.received_by_command[command_label_index(f.command)];
  ++tally.messages;
  tally.bytes += frame_header_size + f.payload.size();
  auto decoded = decode_message(std::move(f)); // a block keeps its payload; the command stays
  if (decoded.error != wire_error::none) {
    wire_failure_ = decoded.error;
    fail(close_reason::wire_error, f.command + ": " + to_string(decoded.error));
    return;
  }
  if (!peer_id_) {
    on_quantumproof(decoded.message);
    return;
  }
  if (phase_ != session_phase::ready && !is_handshake_command(f.command)
      && ++handshake_frames_ > settings_.max_handshake_frames) {
    fail(close_reason::protocol_violation,
         "more than " + std::to_string(settings_.max_handshake_frames)
             + " messages other than version and verack before the handshake completed");
    return;
  }
  if (std::holds_alternative<unknown_message>(decoded.message)) {
    ++counters_.unknown_messages; // unknown commands are skipped, as Bitcoin Core does
    return;
  }
  if (phase_ != session_phase::ready) {
    on_handshake_message(decoded.message, now);
    return;
  }
  if (auto* ping = std::get_if<ping_message>(&decoded.message)) {
    send_message(pong_message{ping->nonce});
    return;
  }
  if (auto* pong = std::get_if<pong_message>(&decoded.message)) {
    if (ping_nonce_ && pong->nonce == *ping_nonce_) {
      auto rtt = now - ping_sent_;
      last_ping_ = rtt;
      if (!min_ping_ || rtt < *min_ping_)
        min_ping_ = rtt;
      ping_nonce_.reset();
      next_ping_ = now + settings_.ping_interval;
    }
    return;
  }
  if (std::holds_alternative<version_message>(decoded.message)
      || std::holds_alternative<verack_message>(decoded.message))
    return; // duplicates after the handshake are ignored, as Bitcoin Core does
  inbox_.push_back(std::move(decoded.message));
}

void peer_session_core::on_quantumproof(const p2p_message& msg) {
  auto* proof = std::get_if<quantumproof_message>(&msg);
  if (!proof) {
    fail(close_reason::quantumproof_missing,
         "'" + command_of(msg) + "' before the peer's quantumproof");
    return;
  }
  auto remote = channel_->remote_static();
  if (!remote) {
    fail(close_reason::session_failed, "the transport revealed no static key");
    return;
  }
  auto peer_role =
      role_ == channel_role::initiator ? channel_role::responder : channel_role::initiator;
  auto v = verify_quantumproof(*proof, settings_.magic, peer_role, channel_->session_binding(),
                               *remote, settings_.pinned);
  switch (v.result) {
  case quantumproof_result::verified:
    peer_id_ = v.peer_id;
    return;
  case quantumproof_result::malformed:
    fail(close_reason::quantumproof_malformed,
         "proof type " + std::to_string(proof->proof_type) + ", key "
             + std::to_string(proof->public_key.size()) + " bytes, signature "
             + std::to_string(proof->signature.size()) + " bytes (want type "
             + std::to_string(quantumproof_ml_dsa_65) + ", "
             + std::to_string(ml_dsa_public_key_size) + ", " + std::to_string(ml_dsa_signature_size)
             + ")");
    return;
  case quantumproof_result::other_session:
    fail(close_reason::quantumproof_invalid, "the proof binds another session (replayed)");
    return;
  case quantumproof_result::bad_signature:
    fail(close_reason::quantumproof_invalid, "the ML-DSA-65 signature does not verify");
    return;
  case quantumproof_result::pin_mismatch:
    fail(close_reason::pin_mismatch, "the peer proved node id " + to_hex(v.peer_id)
                                         + ", not the pinned " + to_hex(*settings_.pinned));
    return;
  }
}

void peer_session_core::on_handshake_message(p2p_message& msg, time_point now) {
  if (auto* v = std::get_if<version_message>(&msg)) {
    if (peer_version_)
      return; // a duplicate version is ignored
    if (v->version < settings_.min_protocol_version) {
      fail(close_reason::version_too_old, "protocol version " + std::to_string(v->version)
                                              + " is below the minimum "
                                              + std::to_string(settings_.min_protocol_version));
      return;
    }
    if (settings_.local_nonce != 0 && v->nonce == settings_.local_nonce) {
      fail(close_reason::self_connection, "the peer's version nonce is ours");
      return;
    }
    peer_version_ = std::move(*v);
    if (!version_sent_)
      send_version();
    // BIP155: sendaddrv2 goes between version and verack.
    send_message(sendaddrv2_message{});
    send_message(verack_message{});
    return;
  }
  if (!peer_version_) {
    fail(close_reason::protocol_violation, "'" + command_of(msg) + "' before version");
    return;
  }
  if (std::holds_alternative<verack_message>(msg)) {
    verack_received_ = true;
    phase_ = session_phase::ready;
    ready_event_ = true;
    next_ping_ = now; // the first ping measures latency right away
    return;
  }
  // Between version and verack only feature negotiation is meaningful; keep it for the node.
  if (std::holds_alternative<sendaddrv2_message>(msg))
    inbox_.push_back(std::move(msg));
}

} // namespace qtc
