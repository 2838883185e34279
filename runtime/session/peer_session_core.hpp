// The protocol logic of one peer connection, without the connection: bytes in, bytes out.
//
// The peer-session actor (actors/peer_session) feeds it what its link delivers — a TCP socket's
// bytes in production, an in-memory link's in the simulator — and writes what it produces. It
// knows nothing of sockets, threads or clocks: every call takes `now` from the caller (the actor
// clock), and the only randomness (ping nonces) comes from a seed the caller picks.
//
// Lifecycle (docs/architecture.md, "Peer sessions"):
//   connecting          outbound only: until the first write is acknowledged or bytes arrive
//   transport_handshake Noise XX or TLS 1.3 (secure_channel); both bounded by connect_timeout
//   version_handshake   first each side's QuantumProof (its first message, bounded by
//                       quantumproof_timeout; runtime/transport/quantum_proof), then
//                       version/verack (minimum version, network, self-connection by nonce),
//                       bounded by version_timeout
//   ready               application messages flow; ping every ping_interval, latency measured
//   closed              with a typed close_reason (recorded and scored by the peer manager)
#pragma once

#include "messages/p2p.hpp"
#include "messages/peer.hpp"
#include "runtime/session/traffic_cost.hpp"
#include "runtime/transport/quantum_proof.hpp"
#include "runtime/transport/secure_channel.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace qtc {

enum class session_phase : std::uint8_t {
  connecting,
  transport_handshake,
  version_handshake,
  ready,
  closed,
};

std::string to_string(session_phase x);

struct session_settings {
  network_magic magic{};
  std::uint32_t max_message_size = 4'000'000;
  std::int32_t protocol_version = 70015;
  std::int32_t min_protocol_version = 70015;
  std::uint64_t services = 1; ///< NODE_NETWORK: this node serves the whole chain
  std::string user_agent = "/qtcnode/";
  std::uint64_t local_nonce = 0; ///< this node's version nonce (self-connection detection)
  std::int32_t start_height = 0; ///< our best block height, announced in version
  /// Where we can be reached, as the NAT mapper found it (version's addr_from); all zero when
  /// unknown or unreachable, as Bitcoin Core sends it.
  net_address local_address{};
  std::chrono::steady_clock::duration connect_timeout = std::chrono::seconds{5};
  /// From the transport handshake's end to the peer's verack. Bitcoin Core allows 60 s; a
  /// handshake is two round trips, and a slot held 60 s by a silent or dripping peer is what
  /// slowloris attacks buy, so 10 s (a 300 ms round trip leaves 30× headroom).
  std::chrono::steady_clock::duration version_timeout = std::chrono::seconds{10};
  /// A frame whose first bytes arrived must be complete within this (a 4 MB block at 1 Mbit/s
  /// takes 32 s): a peer trickling a frame holds up to 4 MB of our memory for nothing.
  std::chrono::steady_clock::duration frame_timeout = std::chrono::seconds{60};
  /// With bytes waiting to be written to the peer, at least one must be written within this:
  /// a peer that asks and never reads holds the serving pace's buffer (serve_ahead) until then.
  std::chrono::steady_clock::duration send_stall_timeout = std::chrono::seconds{60};
  std::chrono::steady_clock::duration ping_interval = std::chrono::minutes{2};
  std::chrono::steady_clock::duration ping_timeout = std::chrono::minutes{20};
  std::chrono::steady_clock::duration inactivity_timeout = std::chrono::minutes{20};
  /// Bytes handed to the link but not yet written to the socket, above which the peer is
  /// considered not to read. Larger than the biggest message so one block always fits.
  std::uint64_t max_send_queue = 32ull << 20;
  /// Serving pace: answers to a peer's requests (getdata, getheaders) are produced only while
  /// fewer bytes than this wait to be written to it (Bitcoin Core pauses a peer's requests while
  /// its send buffer is over -maxsendbuffer, 5 MB). A peer that asks for much and reads slowly
  /// gets its answers as fast as it reads, and costs the node about this much memory.
  std::uint64_t serve_ahead = 4ull << 20;
  /// Rate limits: once ready, a message that costs something (runtime/session/traffic_cost) is
  /// taken only out of an allowance the caller grants (grant()); without enough, the session
  /// holds it and takes nothing more until granted (see allowance_wanted). Off: unlimited.
  bool rate_limited = false;
  /// Frames other than version and verack a peer may send before the handshake is done (the
  /// rate limits start when it is ready; before that only this bounds a flood, with the
  /// version timeout). Bitcoin Core peers send at most a few (sendaddrv2, wtxidrelay, ...).
  std::uint32_t max_handshake_frames = 16;
  /// This node's identity: it signs our QuantumProof. Must outlive the session.
  const node_identity* identity = nullptr;
  /// Outbound: the node id the peer's proof must name (a pinned peer, `<node id>@host:port`).
  std::optional<node_id> pinned;
  /// The peer's proof is its first message after the transport handshake, within this.
  std::chrono::steady_clock::duration quantumproof_timeout = default_quantumproof_timeout;
};

/// Messages and their plaintext frame bytes (the 24-byte header included) of one command.
struct command_tally {
  std::uint64_t messages = 0;
  std::uint64_t bytes = 0;
};

/// One slot per command label (messages/p2p's command_label_index).
using command_tallies = std::array<command_tally, command_label_count>;

/// Traffic counters of one session.
struct session_counters {
  std::uint64_t bytes_sent = 0;     ///< ciphertext bytes handed to the link
  std::uint64_t bytes_received = 0; ///< ciphertext bytes received
  std::uint64_t messages_sent = 0;
  std::uint64_t messages_received = 0;
  std::uint64_t unknown_messages = 0;    ///< frames with commands this node does not know
  std::uint64_t holds = 0;               ///< times a message waited for rate allowance
  command_tallies received_by_command{}; ///< frames taken from the peer, by command
  command_tallies sent_by_command{};     ///< frames written for the peer, by command
};

class peer_session_core {
public:
  using clock = std::chrono::steady_clock;
  using time_point = clock::time_point;

  /// `remote` is the peer's address as this side sees it (put in our version's addr_recv).
  peer_session_core(session_settings settings, channel_role role,
                    std::unique_ptr<secure_channel> channel, net_address remote, std::uint64_t seed,
                    time_point now);

  // -- events from the link -------------------------------------------------------------------

  /// Starts the session: an initiator writes its first handshake message.
  void start(time_point now);

  /// Bytes from the peer, in any pieces.
  void received(std::span<const std::uint8_t> data, time_point now);

  /// The link has written `total_written` bytes to the peer since the session began; what was
  /// taken from take_output() beyond that is still queued (the send-queue bound).
  void written(std::uint64_t total_written, time_point now);

  /// The link closed (the peer hung up or the connection failed). `established`: the link
  /// knows the connection had been made (nothing: it cannot tell; then a link lost before any
  /// byte arrived or was acknowledged counts as a failed connection).
  void link_down(time_point now, std::optional<bool> established = std::nullopt);

  /// Checks timeouts, sends pings and trims idle buffers; call it at next_tick() (earlier or
  /// extra calls are harmless).
  void tick(time_point now);

  /// When tick() next has something to do: the earliest timeout or ping due, or a second after
  /// the last traffic (to trim buffers); time_point::max() once closed. An idle ready session
  /// needs a tick once per ping_interval, not once a second.
  time_point next_tick() const;

  // -- commands from the node -----------------------------------------------------------------

  /// Sends a message (only once ready; ignored otherwise).
  void send(const p2p_message& msg);

  /// Sends an already serialized payload under `command` (e.g. a block read from the store).
  void send_raw(std::string_view command, std::span<const std::uint8_t> payload);

  /// Adds rate allowance (see session_settings::rate_limited) and takes what waited for it.
  void grant(std::uint32_t messages, std::uint64_t bytes, time_point now);

  /// Rate limits off from now on (the caller cannot get allowance: it fails open).
  void unlimit(time_point now);

  /// Set while a received message waits for allowance: what it lacks. The caller stops reading
  /// from the peer meanwhile (what was read is kept, nothing after it is processed).
  std::optional<traffic_cost> allowance_wanted() const;

  /// Ends the session for `reason` (no-op if already closed).
  void close(close_reason reason, std::string detail = {});

  // -- outputs --------------------------------------------------------------------------------

  /// Bytes to write to the link (moved out; counted as pending until written() says so). `now`:
  /// when they begin to wait, if nothing waited (the send-stall clock starts there).
  bytes take_output(time_point now);

  /// Application messages received since the last call (everything after the handshake except
  /// ping/pong, which the session answers itself).
  std::vector<p2p_message> take_messages();

  /// True exactly once: on the call after the session became ready.
  bool take_ready();

  session_phase phase() const {
    return phase_;
  }
  close_reason reason() const {
    return reason_;
  }
  /// Human-readable detail of the close reason (the transport or wire error, the timeout...).
  const std::string& detail() const {
    return detail_;
  }
  transport_error transport_failure() const {
    return transport_failure_;
  }
  wire_error decode_failure() const {
    return wire_failure_;
  }
  channel_role role() const {
    return role_;
  }
  const secure_channel& channel() const {
    return *channel_;
  }
  /// The peer's node id, once its QuantumProof verified (nothing before: no message but the
  /// proof is taken until then).
  const std::optional<node_id>& peer_id() const {
    return peer_id_;
  }
  /// The peer's version message, once received.
  const std::optional<version_message>& peer_version() const {
    return peer_version_;
  }
  /// Round-trip times: the last and the smallest measured.
  std::optional<clock::duration> last_ping() const {
    return last_ping_;
  }
  std::optional<clock::duration> min_ping() const {
    return min_ping_;
  }
  const session_counters& counters() const {
    return counters_;
  }
  /// Whether the peer is reading fast enough for another answer (see serve_ahead).
  bool may_serve() const {
    return phase_ == session_phase::ready && pending_output() < settings_.serve_ahead;
  }

  /// Bytes produced but not yet written to the socket.
  std::uint64_t pending_output() const {
    return counters_.bytes_sent - written_ + output_.size();
  }
  time_point connected_at() const {
    return started_;
  }

private:
  void fail(close_reason reason, std::string detail);
  void on_established(time_point now);
  void on_plain(const bytes& plain, time_point now);
  void take_frames(time_point now);
  bool admit(const frame& f);
  std::string frame_error_detail() const;
  void on_frame(frame f, time_point now);
  void on_handshake_message(p2p_message& msg, time_point now);
  void on_quantumproof(const p2p_message& msg);
  void send_version();
  void send_message(const p2p_message& msg);
  void write_plain(const bytes& plain);
  /// Counts a frame written for the peer in sent_by_command.
  void count_sent(std::string_view command, std::size_t frame_bytes);
  void check_send_queue();
  void check_stalls(time_point now);
  std::uint64_t next_nonce();

  session_settings settings_;
  channel_role role_;
  std::unique_ptr<secure_channel> channel_;
  net_address remote_;
  /// Ping nonces only need to differ, not to be secret (the peer echoes them): a splitmix64
  /// sequence from the seed, 8 bytes (a std::mt19937_64 here was 2.5 KB of every idle peer).
  std::uint64_t nonce_state_;
  frame_decoder decoder_;
  session_phase phase_;
  close_reason reason_ = close_reason::none;
  std::string detail_;
  transport_error transport_failure_ = transport_error::none;
  wire_error wire_failure_ = wire_error::none;
  time_point started_;       ///< when the link came up (connect_timeout runs from here)
  time_point established_;   ///< when the transport handshake completed
  time_point last_received_; ///< inactivity timeout
  bool version_sent_ = false;
  bool verack_received_ = false;
  bool ready_event_ = false;
  std::optional<version_message> peer_version_;
  std::optional<node_id> peer_id_;          ///< set once the peer's QuantumProof verified
  std::optional<std::uint64_t> ping_nonce_; ///< outstanding ping
  time_point ping_sent_;
  time_point next_ping_;
  std::optional<clock::duration> last_ping_;
  std::optional<clock::duration> min_ping_;
  bytes output_;
  std::uint64_t written_ = 0; ///< bytes the link reported written
  std::vector<p2p_message> inbox_;
  session_counters counters_;
  std::optional<frame> held_; ///< a frame waiting for rate allowance
  /// The last header of the last full headers answer sent: a getheaders from it is free, once.
  std::optional<hash256> headers_continuation_;
  traffic_cost allowance_;    ///< what the caller granted and messages have not used yet
  bool hold_counted_ = false; ///< the held frame was counted in counters_.holds
  std::optional<time_point> partial_since_; ///< since when a frame is incomplete (ours to read)
  time_point last_written_; ///< when the link last wrote, or bytes began to wait (take_output)
  time_point trimmed_;      ///< when a tick last trimmed the buffers
  std::uint32_t handshake_frames_ = 0;
};

} // namespace qtc
