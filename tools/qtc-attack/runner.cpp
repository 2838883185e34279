#include "runner.hpp"

#include "actors/node.hpp"

#include <algorithm>
#include <cmath>
#include <iostream>

#include <poll.h>

namespace qtc::attack {

namespace {

using namespace std::chrono_literals;

/// A connect (SYN to established) or a churned handshake that takes this long is given up.
constexpr auto connect_timeout = 5s;
/// How long the end-of-run drain may read a non-reader's socket for the node's close.
constexpr auto drain_time = 2s;
/// More than a node can have had queued when it closed (4 MiB serving pace plus kernel
/// buffers): a non-reader that yields this much when drained is still being served.
constexpr std::uint64_t drain_bytes = 16ull << 20;

double seconds(clock::duration d) {
  return std::round(std::chrono::duration<double>(d).count() * 1000) / 1000;
}

/// What a connection still open at the end had not done yet ("" when it had its handshake).
std::string unfinished(const connection& c) {
  if (!c.tcp_up)
    return "still connecting at the end";
  return c.goal_reached ? "" : "still in the handshake at the end";
}

std::string fixed3(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3f", v);
  return buf;
}

} // namespace

runner::runner(const options& o, const chain_spec& spec, chain_view chain,
               std::shared_ptr<const node_identity> shared_identity,
               Botan::RandomNumberGenerator& rng)
    : o_(o), spec_(spec), chain_(std::move(chain)), shared_identity_(std::move(shared_identity)),
      rng_(rng), behaviour_(make_behaviour(o.attack)), settings_(session_settings_for(spec)),
      goal_(goal_of(o)) {
  std::uint64_t seed = 0;
  rng_.randomize(reinterpret_cast<std::uint8_t*>(&seed), sizeof(seed));
  fast_rng_.seed(seed);
  settings_.user_agent = std::string{"/qtc-attack:"} + QTC_VERSION + "/";
  // The attack decides when a connection ends, not our session's timers: holding is the point.
  settings_.version_timeout = std::chrono::hours{24};
  settings_.ping_timeout = std::chrono::hours{24};
  settings_.inactivity_timeout = std::chrono::hours{24};
  // Nor a frame half read when the attack stopped reading (getdata-nonreader): that session
  // timed itself out after 60 s, before the node's cut-off was seen at the end (CI, once).
  settings_.frame_timeout = std::chrono::hours{24};
  settings_.send_stall_timeout = std::chrono::hours{24};
  settings_.max_send_queue = UINT64_MAX;
}

void runner::log(const connection& c, const std::string& what) const {
  // One write per line: the lines of a log shared with other processes stay whole.
  std::cerr << ("qtc-attack: " + what + " conn=" + std::to_string(c.id)
                + " source=" + format_ip(c.source_ip) + "\n");
}

run_context runner::context(time_point now) {
  return run_context{o_,        spec_,
                     fast_rng_, chain_,
                     now,       [this](const connection& c, const std::string& s) { log(c, s); }};
}

double runner::elapsed_seconds() const {
  return std::chrono::duration<double>(ended_ - started_).count();
}

bool runner::reached_target() const {
  return std::any_of(all_.begin(), all_.end(), [](const auto& c) { return c->tcp_up; });
}

void runner::run() {
  started_ = clock::now();
  deadline_ =
      started_
      + std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>{o_.duration});
  next_progress_ = started_ + 1s;
  for (unsigned source = 0; source < o_.sources; ++source)
    for (unsigned k = 0; k < o_.connections; ++k)
      slots_.push_back({source, nullptr, started_, false});
  std::cerr << ("qtc-attack: starting attack=" + std::string{info(o_.attack).name}
                + " target=" + format_endpoint(o_.target_ip, o_.target_port) + " sources="
                + std::to_string(o_.sources) + " subnets=" + std::to_string(o_.subnets)
                + " connections_in_all=" + std::to_string(slots_.size())
                + " duration=" + fixed3(o_.duration) + "\n");
  for (auto now = clock::now(); now < deadline_; now = clock::now()) {
    start_due_slots(now);
    std::vector<connection*> live;
    std::vector<pollfd> fds;
    for (auto& s : slots_)
      if (s.live) {
        live.push_back(s.live);
        short events = s.live->tcp_up ? 0 : POLLOUT;
        events |= s.live->reading() ? POLLIN : 0;
        events |= s.live->wants_write() ? POLLOUT : 0;
        fds.push_back({s.live->fd(), events, 0});
      }
    if (live.empty()
        && std::all_of(slots_.begin(), slots_.end(), [](auto& s) { return s.retired; }))
      break; // the node closed every connection and none comes back: nothing left to observe
    if (::poll(fds.data(), fds.size(), poll_timeout_ms(now)) < 0 && errno != EINTR)
      throw std::runtime_error{std::string{"poll: "} + std::strerror(errno)};
    now = clock::now();
    for (std::size_t i = 0; i < live.size(); ++i)
      step(*live[i], fds[i].revents, now);
    retire_ended(now);
    progress(now);
  }
  drain_and_close();
  ended_ = clock::now();
}

void runner::start_due_slots(time_point now) {
  for (auto& s : slots_)
    if (!s.live && !s.retired && s.next_attempt <= now)
      open_connection(s, now);
}

void runner::open_connection(slot& s, time_point now) {
  auto c =
      std::make_unique<connection>(all_.size() + 1, s.source, source_address(o_, s.source), now);
  std::string error;
  s.live = c.get();
  all_.push_back(std::move(c));
  auto& conn = *s.live;
  if (!conn.open(o_.target_ip, o_.target_port, behaviour_->small_receive_buffer(), error))
    finish(conn, conn_end::refused, error, now);
}

void runner::retire_ended(time_point now) {
  for (auto& s : slots_) {
    if (!s.live || s.live->end == conn_end::open)
      continue;
    if (behaviour_->reconnects()) {
      auto period =
          std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>{1.0 / o_.rate});
      s.next_attempt = std::max(s.live->started + period, now);
    } else {
      s.retired = true;
    }
    s.live = nullptr;
  }
}

int runner::poll_timeout_ms(time_point now) const {
  auto wake = std::min(deadline_, next_progress_);
  for (const auto& s : slots_) {
    if (s.live)
      wake = std::min(wake, s.live->next_send);
    else if (!s.retired)
      wake = std::min(wake, s.next_attempt);
  }
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(wake - now).count();
  // At most 100 ms: connect and handshake timeouts are checked on the way.
  return static_cast<int>(std::clamp<long long>(ms, 0, 100));
}

void runner::step(connection& c, short revents, time_point now) {
  if (!c.tcp_up && !step_connect(c, revents, now))
    return;
  std::string error;
  bool alive = true;
  if (c.reading() && (revents & (POLLIN | POLLHUP | POLLERR)) != 0)
    alive = c.read_some(now, error);
  else if (!c.reading() && (revents & (POLLHUP | POLLERR)) != 0)
    alive = false, error = "the node reset the connection";
  session_events(c, now);
  if (!alive)
    return node_closed(c, error, now);
  auto ctx = context(now);
  behaviour_->on_tick(c, ctx);
  c.tick(now);
  if (!c.close_request.empty()) {
    c.flush(error); // what the attack queued last still goes out
    return finish(c, conn_end::closed_by_us, c.close_request, now);
  }
  if (auto* s = c.session(); s && s->phase() == session_phase::closed)
    return finish(c, conn_end::closed_by_us,
                  "our session ended: " + to_string(s->reason()) + ": " + s->detail(), now);
  if (!c.flush(error))
    node_closed(c, error, now);
}

/// The connect's outcome, once known: false while it is pending or when it failed.
bool runner::step_connect(connection& c, short revents, time_point now) {
  if ((revents & (POLLOUT | POLLERR | POLLHUP)) == 0) {
    if (now - c.started > connect_timeout)
      finish(c, conn_end::refused, "connect: no answer within 5 s", now);
    return false;
  }
  std::string error;
  if (!c.finish_connect(error)) {
    finish(c, conn_end::refused, error, now);
    return false;
  }
  on_tcp_up(c, now);
  return true;
}

void runner::on_tcp_up(connection& c, time_point now) {
  c.tcp_up = true;
  c.connected_at = now;
  c.goal_reached = goal_ == handshake_goal::tcp;
  log(c, "connected");
  if (behaviour_->uses_session(o_)) {
    auto identity = shared_identity_;
    if (!identity) {
      std::array<std::uint8_t, 32> seed;
      rng_.randomize(seed.data(), seed.size());
      identity = std::make_shared<const node_identity>(node_identity::from_seed(seed));
    }
    auto context = make_channel_context(identity, spec_);
    auto ctx = *context;
    ctx.rng = &rng_;
    c.keep_alive = context;
    net_address remote;
    remote.ip = o_.target_ip;
    remote.port = o_.target_port;
    auto settings = settings_;
    settings.identity = identity.get(); // kept alive by keep_alive's context
    c.start_session(settings, make_initiator(o_.transport, ctx, std::nullopt), remote, fast_rng_(),
                    now);
    c.tap()->core_sends_allowed = behaviour_->core_sends_allowed();
  }
  auto ctx = context(now);
  behaviour_->on_tcp(c, ctx);
}

/// The session's milestones since the last look, and the frames it received, to the attack.
void runner::session_events(connection& c, time_point now) {
  if (!c.has_session() || c.end != conn_end::open)
    return;
  auto ctx = context(now);
  if (!c.transport_up && c.session()->channel().established()) {
    c.transport_up = true;
    c.goal_reached = c.goal_reached || goal_ == handshake_goal::transport;
    log(c, "transport handshake complete transport=" + std::string{c.session()->channel().kind()}
               + " seconds=" + fixed3(seconds(now - c.connected_at)));
    behaviour_->on_transport(c, ctx);
  }
  // Our session is ready once the node's verack arrived; the handshake is complete only if ours
  // went out too (no-verack holds it back).
  if (c.take_ready() && c.t.sent.contains("verack")) {
    c.version_up = true;
    c.goal_reached = true;
    const auto& v = c.session()->peer_version();
    log(c, "session ready user_agent=" + (v ? v->user_agent : std::string{"?"})
               + " height=" + std::to_string(v ? v->start_height : -1));
    behaviour_->on_ready(c, ctx);
  }
  for (const auto& f : c.take_frames())
    behaviour_->on_frame(c, f, ctx);
}

void runner::node_closed(connection& c, const std::string& why, time_point now) {
  if (c.goal_reached)
    return finish(c, conn_end::closed_by_node, why, now);
  finish(c, conn_end::refused,
         "closed before the " + std::string{to_string(goal_)} + " handshake completed: " + why,
         now);
}

void runner::finish(connection& c, conn_end end, const std::string& detail, time_point now) {
  c.end = end;
  c.end_detail = detail;
  c.ended_at = now;
  c.close_socket();
  auto after = " after=" + fixed3(seconds(now - (c.tcp_up ? c.connected_at : c.started))) + "s";
  switch (end) {
  case conn_end::refused:
    log(c, "refused" + after + " detail=\"" + detail + "\"");
    break;
  case conn_end::closed_by_node:
    log(c, "closed by the node" + after + " detail=\"" + detail + "\"");
    break;
  case conn_end::closed_by_us:
    log(c, "closed by us" + after + " detail=\"" + detail + "\"");
    break;
  case conn_end::open:
  case conn_end::open_at_end:
    log(c, "still open at the end" + after + (detail.empty() ? "" : " detail=\"" + detail + "\""));
    break;
  }
}

void runner::progress(time_point now) {
  if (now < next_progress_)
    return;
  next_progress_ += 1s;
  std::uint64_t open = 0, node = 0, refused = 0, sent = 0, received = 0;
  for (const auto& c : all_) {
    open += c->end == conn_end::open && c->tcp_up ? 1 : 0;
    node += c->end == conn_end::closed_by_node ? 1 : 0;
    refused += c->end == conn_end::refused ? 1 : 0;
    sent += c->t.messages_sent;
    received += c->t.messages_received;
  }
  std::cerr << ("qtc-attack: progress seconds=" + fixed3(seconds(now - started_))
                + " attempted=" + std::to_string(all_.size()) + " open=" + std::to_string(open)
                + " refused=" + std::to_string(refused) + " closed_by_node=" + std::to_string(node)
                + " messages_sent=" + std::to_string(sent)
                + " messages_received=" + std::to_string(received) + "\n");
}

/// The end: a non-reader's close is invisible until its socket is read (the node's FIN waits
/// behind the data we never took), so those are read — not decrypted — for a short while;
/// everything else still open is counted so and closed.
void runner::drain_and_close() {
  auto now = clock::now();
  std::vector<connection*> draining;
  for (auto& s : slots_) {
    if (!s.live || s.live->end != conn_end::open)
      continue;
    if (s.live->tcp_up && !s.live->reading()) {
      s.live->resume_reading_for_drain();
      draining.push_back(s.live);
    } else {
      finish(*s.live, conn_end::open_at_end, unfinished(*s.live), now);
    }
  }
  auto until = now + drain_time;
  while (!draining.empty() && (now = clock::now()) < until) {
    std::vector<pollfd> fds;
    for (auto* c : draining)
      fds.push_back({c->fd(), POLLIN, 0});
    ::poll(fds.data(), fds.size(), 50);
    std::vector<connection*> still;
    for (std::size_t i = 0; i < draining.size(); ++i) {
      std::string error;
      if (fds[i].revents == 0 || draining[i]->read_some(now, error, true)) {
        if (draining[i]->t.bytes_drained < drain_bytes)
          still.push_back(draining[i]);
        else
          finish(*draining[i], conn_end::open_at_end, "", now);
        continue;
      }
      draining[i]->seen_at_drain = true;
      finish(*draining[i], conn_end::closed_by_node, error + " (seen when draining at the end)",
             now);
    }
    draining.swap(still);
  }
  for (auto* c : draining)
    finish(*c, conn_end::open_at_end, "", clock::now());
}

} // namespace qtc::attack
