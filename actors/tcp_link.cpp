#include "actors/tcp_link.hpp"

#include "runtime/io/tcp_probe.hpp"

#include <caf/io/receive_policy.hpp>

#include <unistd.h>

namespace qtc {

namespace {

/// Reads start small and grow to a full Noise frame (plus its length) once data flows: the read
/// buffer is most of an idle peer's memory (64 KiB of the ~90 KiB a peer cost with full-size
/// reads, tools/bench/bench_peers.cpp), and most peers are idle most of the time. CAF keeps a
/// buffer's capacity, so it does not shrink again; a busy link stays fast.
constexpr std::size_t small_read = 1024;
constexpr std::size_t full_read = 65536 + 2;

/// Data flows once small reads that each filled the buffer brought this much in a row. One
/// filled read is not enough: every hybrid handshake ends with a QuantumProof of 5.3 KB (an
/// ML-DSA-65 key and signature) and the version messages behind it, under 8 KB on every
/// connection, idle or not; growing on them had put every idle peer back at the full buffer
/// (114 KiB per idle peer at 1,000 peers instead of 26).
constexpr std::size_t full_run_to_grow = 16 * 1024;

/// An empty write buffer larger than this is given back after a write (see data_transferred):
/// a ping, pong or small inv fits, so an idle link does not allocate for each of them.
constexpr std::size_t write_buffer_kept = 1024;

/// A resume is repeated after this, then at doubling intervals up to the last (set_reading).
constexpr std::chrono::milliseconds first_resume_retry{20};
constexpr std::chrono::milliseconds last_resume_retry{1000};

/// Starts reading for `session` and ties the link's life to it.
void attach(tcp_link_pointer self, peer_session_actor session) {
  auto& st = self->state;
  st.session = std::move(session);
  st.read_size = small_read;
  self->configure_read(st.handle, caf::io::receive_policy::at_most(st.read_size));
  self->ack_writes(st.handle, true);
  // The link lives exactly as long as its session.
  self->monitor(st.session);
  // The session's last writes and its close_atom are in our mailbox when its down message
  // arrives, but CAF delivers down messages first: closing here would drop them (a Noise refusal
  // frame or a TLS alert never reached the peer, found by the JavaScript interop test). A
  // close_atom sent to ourselves queues behind them; its handler flushes, closes and quits.
  self->set_down_handler([self](const caf::down_msg&) { self->send(self, close_atom::value); });
}

/// Stops or resumes reading the socket. halt() takes it out of the multiplexer's read set
/// (writes go on); the kernel buffers what arrives meanwhile and the peer's TCP window closes.
/// CAF 0.17 applies a halt only at the end of the multiplexer's loop iteration, and a trigger()
/// before then is lost (the stream still looks active, then the halt lands): so a resume is
/// repeated from the clock, at 20 ms and doubling intervals for about 2 s or until data arrives
/// (a trigger of a reading socket does nothing).
/// Once was not enough: under a flood an iteration can outlast the first repeat, and a lost
/// resume leaves the session holding half a frame until the frame timeout cuts the peer.
void set_reading(tcp_link_pointer self, bool on) {
  auto& st = self->state;
  st.reading = on;
  if (!on) {
    st.resume_retry.reset();
    self->halt(st.handle);
    return;
  }
  self->trigger(st.handle);
  if (!st.resume_retry) {
    st.resume_retry = first_resume_retry;
    self->delayed_send(self, first_resume_retry, tick_atom::value);
  }
}

/// The clock's repeat of a resume (set_reading), until data arrives or reading stops.
void repeat_resume(tcp_link_pointer self) {
  auto& st = self->state;
  if (!st.reading || !st.resume_retry)
    return;
  self->trigger(st.handle);
  if (*st.resume_retry == last_resume_retry) {
    st.resume_retry.reset(); // about 2 s covered: far beyond any loop iteration
    return;
  }
  st.resume_retry = std::min(*st.resume_retry * 2, last_resume_retry);
  self->delayed_send(self, *st.resume_retry, tick_atom::value);
}

tcp_link_actor::behavior_type link_behavior(tcp_link_pointer self) {
  return {
      [self](attach_atom, peer_session_actor& session) { attach(self, std::move(session)); },
      [self](write_atom, bytes& data) {
        auto& buf = self->wr_buf(self->state.handle);
        buf.insert(buf.end(), data.begin(), data.end());
        self->flush(self->state.handle);
      },
      [self](read_atom, bool on) { set_reading(self, on); },
      [self](tick_atom) { repeat_resume(self); },
      [self](close_atom) {
        // Pending bytes (e.g. a TLS alert) go out before the socket closes.
        self->flush(self->state.handle);
        self->close(self->state.handle);
        self->quit();
      },
      [self](const caf::io::new_data_msg& msg) {
        auto& st = self->state;
        st.resume_retry.reset(); // reading, whatever was resumed has landed
        if (st.read_size < full_read) {
          st.full_run = msg.buf.size() >= st.read_size ? st.full_run + msg.buf.size() : 0;
          if (st.full_run >= full_run_to_grow) {
            st.read_size = full_read; // data is flowing: full frames per read from now on
            self->configure_read(st.handle, caf::io::receive_policy::at_most(st.read_size));
          }
        }
        if (st.session)
          self->send(st.session, data_atom::value, bytes{msg.buf.begin(), msg.buf.end()});
      },
      [self](const caf::io::data_transferred_msg& msg) {
        // CAF writes from one buffer while the next fills the other, and both keep their
        // capacity: the hybrid handshake's and QuantumProof's 2-6 KB had stayed in every idle
        // link. An empty one is given back here (the next write allocates what it needs).
        if (auto& next = self->wr_buf(self->state.handle);
            next.empty() && next.capacity() > write_buffer_kept)
          next.shrink_to_fit();
        self->state.written += msg.written;
        if (self->state.session)
          self->send(self->state.session, written_atom::value, self->state.written);
      },
      [self](const caf::io::connection_closed_msg&) {
        auto& st = self->state;
        if (st.session) {
          if (st.probe_fd >= 0)
            self->send(st.session, linkdown_atom::value, tcp_was_established(st.probe_fd));
          else
            self->send(st.session, linkdown_atom::value);
        }
        self->quit();
      },
  };
}

} // namespace

tcp_link_actor::behavior_type tcp_link_inbound(tcp_link_pointer self,
                                               caf::io::connection_handle handle,
                                               peer_manager_actor manager) {
  self->state.handle = handle;
  auto host = self->remote_addr(handle);
  auto port = self->remote_port(handle);
  self->send(manager, accept_atom::value, host, port, caf::actor_cast<accepted_link_actor>(self));
  return link_behavior(self);
}

tcp_link_actor::behavior_type tcp_link_outbound(tcp_link_pointer self, int fd,
                                                peer_session_actor session) {
  // The duplicate keeps the socket object alive after CAF closes its descriptor, so the link
  // can still ask whether the connection was ever made; it is closed with the link.
  self->state.probe_fd = ::dup(fd);
  self->attach_functor([probe = self->state.probe_fd] {
    if (probe >= 0)
      ::close(probe);
  });
  self->state.handle = self->add_scribe(fd);
  attach(self, session);
  self->send(session, link_atom::value, caf::actor_cast<peer_link_actor>(self));
  return link_behavior(self);
}

} // namespace qtc
