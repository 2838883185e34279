// One attacking connection: a non-blocking socket bound to a loopback source address, the node's
// own session core on top of it (Noise or TLS initiator, version handshake, pongs), and a tap
// between the two through which the attack sends what an honest session never would.
//
// Why a tap rather than a second implementation: the handshake an attack completes is then
// exactly the one a real peer completes, and stays so as the protocol changes. The tap sees the
// plaintext both ways, so every message is counted by command whichever side produced it, and it
// can hold back what the core would send (slow-version, no-verack, silent).
//
// Why one ordered plaintext queue: the core and the attack both add plaintext (a pong in the
// middle of a 1.8 MB getdata, say). Encrypting each as it comes would interleave their bytes in
// the P2P stream; queueing both and encrypting in order, a piece at a time as the socket takes
// them, keeps the stream intact and our memory bounded (a few hundred KiB per connection, the big
// payloads being shared between connections).
#pragma once

#include "options.hpp"
#include "runtime/session/peer_session_core.hpp"

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace qtc::attack {

using clock = std::chrono::steady_clock;
using time_point = clock::time_point;

/// How a connection ended (see handshake_goal for refused vs closed by the node).
enum class conn_end { open, refused, closed_by_node, closed_by_us, open_at_end };

/// Traffic of one connection. Messages are counted when queued (ours) or decoded (theirs);
/// bytes as the socket wrote or read them, ciphertext included.
struct traffic {
  std::uint64_t messages_sent = 0;
  std::uint64_t bytes_sent = 0;
  std::uint64_t messages_received = 0;
  std::uint64_t bytes_received = 0;
  std::uint64_t sends_deferred = 0; ///< paced messages skipped: the node was not reading ours
  std::uint64_t bytes_drained = 0;  ///< a non-reader's bytes read only at the end (not above)
  std::map<std::string, std::uint64_t> sent;     ///< by command
  std::map<std::string, std::uint64_t> received; ///< by command
  std::map<std::string, std::uint64_t> attack;   ///< the attack's own counts (bytes dripped...)
};

class connection;

/// The core's channel, tapped (see the file comment).
class tapped_channel final : public secure_channel {
public:
  tapped_channel(std::unique_ptr<secure_channel> inner, connection& owner)
      : inner_(std::move(inner)), owner_(owner) {}

  std::string_view kind() const override {
    return inner_->kind();
  }
  transport_error start(bytes& out) override {
    return inner_->start(out);
  }
  transport_error receive(std::span<const std::uint8_t> in, bytes& out, bytes& plain) override;
  /// The core's plaintext: queued behind the attack's (or dropped while the core is muted).
  transport_error send(std::span<const std::uint8_t> plain, bytes& out) override;
  transport_error end_of_stream() override {
    return inner_->end_of_stream();
  }
  bool established() const override {
    return inner_->established();
  }
  std::optional<static_public_key> remote_static() const override {
    return inner_->remote_static();
  }
  transport_error failure() const override {
    return inner_->failure();
  }
  bool peer_closed() const override {
    return inner_->peer_closed();
  }
  bytes session_binding() const override {
    return inner_->session_binding();
  }
  bool post_quantum() const override {
    return inner_->post_quantum();
  }
  void release_spare_capacity(std::size_t keep) override {
    inner_->release_spare_capacity(keep);
  }

  /// Encrypts plaintext straight into `out` (the queue's pump).
  transport_error encrypt(std::span<const std::uint8_t> plain, bytes& out) {
    return inner_->send(plain, out);
  }

  /// How many more of the core's messages go out; the rest are dropped.
  std::size_t core_sends_allowed = SIZE_MAX;

private:
  std::unique_ptr<secure_channel> inner_;
  connection& owner_;
};

class connection {
public:
  connection(std::uint64_t id, unsigned source, const ip_bytes& source_ip, time_point now);
  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  // -- identity and outcome ------------------------------------------------------------------
  const std::uint64_t id;
  const unsigned source; ///< index of the source address
  const ip_bytes source_ip;
  time_point started;      ///< connect() was called
  time_point connected_at; ///< the TCP connection was made
  time_point ended_at;
  conn_end end = conn_end::open;
  std::string end_detail;
  bool tcp_up = false;
  bool transport_up = false;
  bool version_up = false;
  bool goal_reached = false;
  bool seen_at_drain = false; ///< a non-reader's close, found only when draining at the end
  traffic t;

  // -- the attack's own state ----------------------------------------------------------------
  time_point next_send = time_point::max(); ///< the next paced send (the loop's wake-up)
  int stage = 0;              ///< attack-specific: where it is (learning, bursting...)
  std::uint64_t progress = 0; ///< attack-specific: bytes dripped, bursts queued
  bytes scratch;              ///< attack-specific bytes (the dripped version)
  std::string close_request;  ///< set by the attack to end the connection itself (churn)
  std::shared_ptr<const void> keep_alive; ///< what the channel refers to (identity, context)

  // -- the socket ----------------------------------------------------------------------------
  int fd() const {
    return fd_;
  }
  /// socket, bind to the source address, non-blocking connect. False with `error` on failure.
  bool open(const ip_bytes& target, std::uint16_t port, bool small_receive_buffer,
            std::string& error);
  /// After the socket became writable while connecting: whether the connection was made.
  bool finish_connect(std::string& error);
  /// Whether the loop should read this socket (a non-reader stops for good).
  bool reading() const {
    return reading_;
  }
  void stop_reading() {
    reading_ = false;
  }
  void resume_reading_for_drain() {
    reading_ = true;
  }
  /// Reads what is there (bounded per call). False on end of stream or error, in `error`.
  /// `draining`: the end-of-run read of a non-reader, counted apart and not decrypted.
  bool read_some(time_point now, std::string& error, bool draining = false);
  /// Encrypts queued plaintext as far as the socket takes it and writes. False on a socket
  /// error (the node reset the connection), in `error`.
  bool flush(std::string& error);
  bool wants_write() const {
    return !pending_.empty() || !plain_.empty();
  }
  /// More than a few hundred KiB wait to be written: the node is not reading ours.
  bool backlogged() const;
  void close_socket();

  // -- the session ---------------------------------------------------------------------------
  /// Starts the node's session core over `channel`; its first handshake bytes are queued.
  /// `remote` is the node's address as our version names it.
  void start_session(const session_settings& settings, std::unique_ptr<secure_channel> channel,
                     const net_address& remote, std::uint64_t seed, time_point now);
  bool has_session() const {
    return core_ != nullptr;
  }
  peer_session_core* session() {
    return core_.get();
  }
  tapped_channel* tap() {
    return tap_;
  }
  /// Lets the core's timers run (pings, its handshake timeout).
  void tick(time_point now);
  /// The P2P frames received since the last call.
  std::vector<frame> take_frames();
  /// Whether the session just became ready (once).
  bool take_ready();

  // -- what the attack sends -----------------------------------------------------------------
  void queue_message(const p2p_message& msg);
  /// A frame under `command`; with `corrupt_checksum`, its checksum does not match.
  void queue_frame(std::string_view command, std::span<const std::uint8_t> payload,
                   bool corrupt_checksum = false);
  /// Plaintext for the P2P stream, shared between connections; counted as one `command`
  /// message unless `command` is empty.
  void queue_plain(std::shared_ptr<const bytes> plain, const std::string& command);
  /// Bytes for the socket itself, outside any channel (junk instead of a handshake).
  void queue_wire(std::span<const std::uint8_t> raw);

  // -- for the tap ---------------------------------------------------------------------------
  void tapped_in(std::span<const std::uint8_t> plain);
  void tapped_core_send(std::span<const std::uint8_t> plain);

private:
  void absorb_core_output();
  void pump();

  int fd_ = -1;
  bool reading_ = true;
  network_magic magic_{};
  std::unique_ptr<peer_session_core> core_;
  tapped_channel* tap_ = nullptr; ///< owned by core_
  std::uint64_t core_taken_ = 0;  ///< the core's bytes taken (told back as written)
  std::unique_ptr<frame_decoder> frames_in_;
  std::vector<frame> inbox_;
  /// Plaintext waiting to be encrypted, in stream order: each piece and how far it is done.
  std::deque<std::pair<std::shared_ptr<const bytes>, std::size_t>> plain_;
  std::size_t plain_bytes_ = 0;
  bytes pending_; ///< ciphertext (or raw wire bytes) waiting for the socket
  std::size_t pending_start_ = 0;
};

} // namespace qtc::attack
