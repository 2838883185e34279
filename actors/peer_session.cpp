#include "actors/peer_session.hpp"

#include "actors/support/status_fields.hpp"
#include "messages/errors.hpp"
#include "messages/primitives/hex.hpp"
#include "runtime/net/rate_budget.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <chrono>

namespace qtc {

namespace {

/// How often at most a ready session reports its latency and traffic to the peer manager (and
/// only when messages moved since the last report).
constexpr auto activity_interval = std::chrono::seconds{5};

bool is_address_message(const p2p_message& msg) {
  return std::holds_alternative<addr_message>(msg) || std::holds_alternative<addrv2_message>(msg)
         || std::holds_alternative<getaddr_message>(msg)
         || std::holds_alternative<sendaddrv2_message>(msg);
}

std::string ms_text(std::optional<std::chrono::steady_clock::duration> d) {
  if (!d)
    return "";
  return std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(*d).count() / 1000.0);
}

std::int64_t micros(std::optional<std::chrono::steady_clock::duration> d) {
  return d ? std::chrono::duration_cast<std::chrono::microseconds>(*d).count() : -1;
}

/// Appends to `out` what moved in `now` since `before`, and remembers `now` as reported.
void add_traffic(const command_tallies& now, command_tallies& before, bool sent,
                 std::vector<command_traffic>& out) {
  for (std::size_t i = 0; i < now.size(); ++i) {
    if (now[i].messages == before[i].messages)
      continue;
    out.push_back({static_cast<std::uint8_t>(i), sent, now[i].messages - before[i].messages,
                   now[i].bytes - before[i].bytes});
    before[i] = now[i];
  }
}

/// The latency and traffic figures of the peer manager's score and the node's metrics.
void report_activity(peer_session_pointer self) {
  auto& st = self->state;
  const auto& core = *st.core;
  const auto& c = core.counters();
  peer_activity a;
  a.id = st.config.id;
  a.min_ping_us = micros(core.min_ping());
  a.last_ping_us = micros(core.last_ping());
  a.bytes_sent = c.bytes_sent;
  a.bytes_received = c.bytes_received;
  a.messages_sent = c.messages_sent;
  a.messages_received = c.messages_received;
  add_traffic(c.received_by_command, st.reported_received, false, a.traffic);
  add_traffic(c.sent_by_command, st.reported_sent, true, a.traffic);
  self->send(st.config.manager, activity_atom::value, std::move(a));
  st.reported_messages = c.messages_sent + c.messages_received;
  st.reported_at = self->clock().now();
}

/// Messages moved since the last activity report.
bool activity_moved(const peer_session_state& st) {
  const auto& c = st.core->counters();
  return st.reported_ready && c.messages_sent + c.messages_received != st.reported_messages;
}

/// Keeps one timer pending at the earliest time the session has something to do (the core's
/// next_tick, or an activity report due): an idle session wakes once per ping interval, not
/// once a second (10,000 idle peers spent a quarter of a core on their ticks). A deadline that
/// moves earlier gets a new timer; the later one left behind ticks for nothing, harmlessly.
void schedule_tick(peer_session_pointer self) {
  auto& st = self->state;
  auto now = self->clock().now();
  auto due = st.core->next_tick();
  if (activity_moved(st))
    due = std::min(due, st.reported_at + activity_interval);
  if (due == peer_session_core::time_point::max() || (st.tick_at && *st.tick_at <= due))
    return;
  st.tick_at = due;
  self->delayed_send(self, std::max(due - now, peer_session_core::clock::duration::zero()),
                     tick_atom::value);
}

/// Acknowledges waiting answers once the peer reads again; all of them (false) once closed.
void release_serve_waiters(peer_session_pointer self) {
  auto& st = self->state;
  bool closed = st.core->phase() == session_phase::closed;
  std::size_t released = 0;
  while (released < st.serve_waiters.size() && (closed || st.core->may_serve()))
    st.serve_waiters[released++].deliver(!closed);
  st.serve_waiters.erase(st.serve_waiters.begin(),
                         st.serve_waiters.begin() + static_cast<std::ptrdiff_t>(released));
}

void after_event(peer_session_pointer self);

/// Asks the security manager for allowance: what the held message lacks, at least a chunk (so
/// that a busy session asks about once per 10 messages). A short grant is asked again at its
/// retry time; an unreachable security manager turns the limits off for this session (fail
/// open: a node whose security manager is restarting keeps serving its peers).
void ask_grant(peer_session_pointer self, traffic_cost lacking) {
  auto& st = self->state;
  st.grant_asked = true;
  auto messages = std::max(lacking.messages, rate_budget::default_chunk_messages);
  auto bytes = std::max(lacking.bytes, rate_budget::default_chunk_bytes);
  self->request(st.config.security, std::chrono::seconds{10}, grant_atom::value, st.config.ip,
                messages, bytes)
      .then(
          [self](const rate_grant& g) {
            auto& st = self->state;
            st.grant_asked = false;
            st.core->grant(g.messages, g.bytes, self->clock().now());
            if (g.retry_ms > 0 && st.core->allowance_wanted()) {
              st.grant_retry = true;
              self->delayed_send(self, std::chrono::milliseconds{g.retry_ms}, grant_atom::value);
            }
            after_event(self);
          },
          [self](const caf::error& err) {
            auto& st = self->state;
            st.grant_asked = false;
            st.log.warning("no rate allowance from the security manager; limits off for this peer",
                           {{"peer", std::to_string(st.config.id)}, {"reason", render_error(err)}});
            st.core->unlimit(self->clock().now());
            after_event(self);
          });
}

/// While the core holds a message for want of allowance, a grant is asked for; while the
/// address is over budget (waiting for a short grant's retry), the link does not read and the
/// peer's TCP window fills. (Not during a grant's round trip: that is microseconds, and the
/// honest peer's path should not stop and restart its socket every ten messages.)
void manage_allowance(peer_session_pointer self) {
  auto& st = self->state;
  auto lacking = st.core->allowance_wanted();
  if (lacking && !st.grant_asked && !st.grant_retry && st.config.security)
    ask_grant(self, *lacking);
  // Paused from a short grant until a grant covers what is held (also while asking again).
  auto pause = lacking.has_value() && (st.grant_retry || (st.grant_asked && st.reading_paused));
  if (st.link && pause != st.reading_paused) {
    st.reading_paused = pause;
    self->send(st.link, read_atom::value, !pause);
  }
}

/// Sends what the core produced, reports what happened, and ends the actor once closed.
void after_event(peer_session_pointer self) {
  auto& st = self->state;
  if (st.finished)
    return;
  auto& core = *st.core;
  if (st.link) {
    auto out = core.take_output(self->clock().now());
    if (!out.empty())
      self->send(st.link, write_atom::value, std::move(out));
  }
  if (core.take_ready()) {
    st.reported_ready = true;
    st.reported_at = self->clock().now();
    peer_info info;
    info.id = st.config.id;
    info.session = peer_session_actor{self};
    info.type = st.config.type;
    info.remote = st.remote;
    info.transport = std::string{core.channel().kind()};
    info.post_quantum = core.channel().post_quantum();
    if (auto key = core.channel().remote_static())
      info.static_key_hex = to_hex(*key);
    if (auto id = core.peer_id())
      info.node_id_hex = to_hex(*id);
    const auto& v = *core.peer_version();
    info.version = v.version;
    info.services = v.services;
    info.user_agent = v.user_agent;
    info.start_height = v.start_height;
    info.relay = v.relay;
    info.observed_ip = v.addr_recv.ip;
    info.observed_port = v.addr_recv.port;
    info.permissions = st.config.permissions;
    st.log.info("peer connected", {{"peer", std::to_string(info.id)},
                                   {"remote", info.remote},
                                   {"type", to_string(info.type)},
                                   {"transport", info.transport},
                                   {"user_agent", info.user_agent},
                                   {"height", std::to_string(info.start_height)},
                                   {"static_key", info.static_key_hex},
                                   {"node_id", info.node_id_hex}});
    self->send(st.config.manager, ready_atom::value, info);
    if (st.config.sync)
      self->send(st.config.sync, ready_atom::value, info);
  }
  for (auto& msg : core.take_messages()) {
    if (is_address_message(msg) || !st.config.sync)
      self->send(st.config.manager, peer_msg_atom::value, st.config.id, std::move(msg));
    else
      self->send(st.config.sync, peer_msg_atom::value, st.config.id, std::move(msg));
  }
  release_serve_waiters(self);
  if (core.phase() != session_phase::closed) {
    manage_allowance(self);
    schedule_tick(self);
    return;
  }
  st.finished = true;
  peer_closed closed;
  closed.id = st.config.id;
  closed.type = st.config.type;
  closed.remote = st.remote;
  closed.was_ready = st.reported_ready;
  closed.reason = core.reason();
  closed.detail = core.detail();
  closed.transport = std::string{core.channel().kind()};
  closed.transport_failure = static_cast<std::uint8_t>(core.transport_failure());
  if (st.reported_ready)
    report_activity(self); // the final figures arrive before `closed`
  auto level = is_violation(closed.reason) ? log_level::warning : log_level::info;
  st.log.log(level, "peer disconnected",
             {{"peer", std::to_string(closed.id)},
              {"remote", closed.remote},
              {"transport", closed.transport},
              {"reason", to_string(closed.reason)},
              {"detail", closed.detail},
              {"sent", std::to_string(core.counters().bytes_sent)},
              {"received", std::to_string(core.counters().bytes_received)}});
  self->send(st.config.manager, closed_atom::value, closed);
  if (st.config.sync && st.reported_ready)
    self->send(st.config.sync, closed_atom::value, closed);
  if (st.link)
    self->send(st.link, close_atom::value);
  self->quit();
}

/// Answers to the peer's requests: sent now, acknowledged when the peer has read enough of what
/// is queued for it (the server's next answers wait for that).
caf::result<bool> serve(peer_session_pointer self, const std::vector<peer_answer>& answers) {
  auto& st = self->state;
  if (st.finished || st.core->phase() != session_phase::ready)
    return false;
  for (const auto& a : answers)
    st.core->send_raw(a.command, a.payload);
  after_event(self);
  if (st.finished)
    return false;
  if (st.core->may_serve() && st.serve_waiters.empty())
    return true;
  st.serve_waiters.push_back(self->make_response_promise<bool>());
  return st.serve_waiters.back();
}

/// The session's status: its phase, peer, transport, ping and traffic.
status_report session_status(peer_session_pointer self) {
  auto& st = self->state;
  auto& core = *st.core;
  status_report r;
  report(r, "name", "peer-" + std::to_string(st.config.id));
  report(r, "state", to_string(core.phase()));
  report(r, "remote", st.remote);
  report(r, "type", to_string(st.config.type));
  report(r, "transport", std::string{core.channel().kind()});
  if (core.peer_version()) {
    report(r, "user-agent", core.peer_version()->user_agent);
    report(r, "start-height", core.peer_version()->start_height);
  }
  report(r, "ping-ms", ms_text(core.last_ping()));
  report(r, "min-ping-ms", ms_text(core.min_ping()));
  const auto& c = core.counters();
  report(r, "bytes-sent", c.bytes_sent);
  report(r, "bytes-received", c.bytes_received);
  report(r, "messages-sent", c.messages_sent);
  report(r, "messages-received", c.messages_received);
  report(r, "send-queue", core.pending_output());
  report(r, "rate-holds", c.holds);
  report(r, "reading", self->state.reading_paused ? "paused" : "yes");
  return r;
}

/// The session's RNG (seeded: reproducible in the simulator), channel and core.
void init_session(peer_session_pointer self, peer_session_config config) {
  auto& st = self->state;
  st.config = std::move(config);
  // Without a security manager nobody grants allowance: no rate limits then.
  st.config.settings.rate_limited = st.config.settings.rate_limited && st.config.security;
  st.remote = format_endpoint(st.config.ip, st.config.port);
  // The inspector lists sessions by peer: "#<id> <ip:port> <direction>".
  self->set_meter_label("#" + std::to_string(st.config.id) + " " + st.remote + " "
                        + to_string(st.config.type));
  st.log = logger{self->system(), "peer"};
  Botan::secure_vector<std::uint8_t> seed(32);
  for (std::size_t i = 0; i < 8; ++i)
    seed[i] = static_cast<std::uint8_t>(st.config.seed >> (8 * i));
  st.rng = std::make_unique<Botan::ChaCha_RNG>(seed);
  st.context = *st.config.context;
  st.context.rng = st.rng.get();
  auto inbound = st.config.type == connection_type::inbound;
  std::unique_ptr<secure_channel> channel;
  if (inbound)
    channel = std::make_unique<sniffing_responder>(st.context);
  else
    channel = make_initiator(st.config.transport, st.context, std::nullopt);
  // A pin names the node id, which covers the ML-DSA key: checked with the peer's QuantumProof.
  st.config.settings.identity = st.context.identity;
  st.config.settings.pinned = st.config.pinned;
  net_address remote;
  remote.ip = st.config.ip;
  remote.port = st.config.port;
  auto now = self->clock().now();
  st.core = std::make_unique<peer_session_core>(
      st.config.settings, inbound ? channel_role::responder : channel_role::initiator,
      std::move(channel), remote, st.config.seed ^ 0x9e3779b97f4a7c15ull, now);
  st.core->start(now);
}

/// The session lives no longer than the two actors it reports to. A stopped sync coordinator
/// takes its view of this peer with it, and a stopped peer manager its pool: either way the
/// session ends (cleanly: the peer sees a close, the other observer hears `closed`), so that a
/// restarted manager reconnects from an empty pool and the coordinator hears of the peer anew.
void watch_observers(peer_session_pointer self) {
  auto& st = self->state;
  if (st.config.manager)
    self->monitor(st.config.manager);
  if (st.config.sync)
    self->monitor(st.config.sync);
  self->set_down_handler([self](const caf::down_msg& msg) {
    auto& st = self->state;
    if (st.config.sync && msg.source == st.config.sync.address())
      st.core->close(close_reason::shutdown, "the sync coordinator stopped");
    else if (st.config.manager && msg.source == st.config.manager.address())
      st.core->close(close_reason::shutdown, "the peer manager stopped");
    else
      return;
    after_event(self);
  });
}

void on_tick(peer_session_pointer self) {
  auto& st = self->state;
  if (st.finished)
    return;
  auto now = self->clock().now();
  if (st.tick_at && *st.tick_at <= now)
    st.tick_at.reset(); // the pending timer fired (this one, or one due at the same time)
  st.core->tick(now);
  if (activity_moved(st) && now >= st.reported_at + activity_interval)
    report_activity(self);
  after_event(self);
}

} // namespace

peer_session_actor::behavior_type peer_session(peer_session_pointer self,
                                               peer_session_config config) {
  init_session(self, std::move(config));
  watch_observers(self);
  schedule_tick(self);
  return {
      [self](status_atom, status_verbosity) { return session_status(self); },
      [self](link_atom, peer_link_actor link) {
        self->state.link = std::move(link);
        after_event(self);
      },
      [self](data_atom, const bytes& data) {
        self->state.core->received(data, self->clock().now());
        after_event(self);
      },
      [self](serve_atom, const std::vector<peer_answer>& answers) { return serve(self, answers); },
      [self](written_atom, std::uint64_t total) {
        self->state.core->written(total, self->clock().now());
        after_event(self);
      },
      [self](linkdown_atom) {
        self->state.link = nullptr;
        self->state.core->link_down(self->clock().now());
        after_event(self);
      },
      [self](linkdown_atom, bool established) {
        self->state.link = nullptr;
        self->state.core->link_down(self->clock().now(), established);
        after_event(self);
      },
      [self](send_atom, const p2p_message& msg) {
        self->state.core->send(msg);
        after_event(self);
      },
      [self](send_atom, const std::string& command, const bytes& payload) {
        self->state.core->send_raw(command, payload);
        after_event(self);
      },
      [self](close_atom, close_reason reason, std::string& detail) {
        self->state.core->close(reason, std::move(detail));
        after_event(self);
      },
      [self](tick_atom) { on_tick(self); },
      [self](grant_atom) {
        self->state.grant_retry = false;
        after_event(self);
      },
  };
}

} // namespace qtc
