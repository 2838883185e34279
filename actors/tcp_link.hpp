// The TCP link: a broker that owns one peer connection's socket and does nothing but I/O. It
// hands received bytes to its session and writes what the session gives it; the session (an
// ordinary actor on the scheduler's worker threads) does the crypto and the parsing, so peers
// are not serialized on the multiplexer's thread.
#pragma once

#include "actors/support/broker_of.hpp"
#include "messages/interfaces.hpp"

#include <caf/io/connection_handle.hpp>
#include <caf/stateful_actor.hpp>

#include <chrono>
#include <optional>

namespace qtc {

using tcp_link_broker = broker_of_t<tcp_link_actor>;

struct tcp_link_state {
  caf::io::connection_handle handle;
  peer_session_actor session;
  std::uint64_t written = 0; ///< bytes the socket accepted so far
  int probe_fd = -1;         ///< outbound: a duplicate of the socket, to ask if it connected
  std::size_t read_size = 0; ///< the current read limit (grows once data flows)
  std::size_t full_run = 0;  ///< bytes of the small reads in a row that filled the buffer
  bool reading = true;       ///< false while the session waits for rate allowance
  /// Since a resume, until data arrives: the resume may not have landed (see set_reading), so
  /// the clock repeats it after this (doubling up to a second, then it stops).
  std::optional<std::chrono::milliseconds> resume_retry;
  static inline const char* name = "tcp_link";
};

using tcp_link_pointer = caf::stateful_actor<tcp_link_state, tcp_link_broker>*;

/// The link of an accepted connection (forked off the listener): offers itself to the peer
/// manager and starts reading once a session is attached; closes if the manager refuses.
tcp_link_actor::behavior_type tcp_link_inbound(tcp_link_pointer self,
                                               caf::io::connection_handle handle,
                                               peer_manager_actor manager);

/// The link of an outbound connection: adopts the connecting socket `fd`
/// (runtime/io/tcp_connect.hpp).
tcp_link_actor::behavior_type tcp_link_outbound(tcp_link_pointer self, int fd,
                                                peer_session_actor session);

} // namespace qtc
