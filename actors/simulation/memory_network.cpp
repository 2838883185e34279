#include "actors/simulation/memory_network.hpp"

#include "runtime/net/ip_address.hpp"

#include <caf/send.hpp>

#include <algorithm>
#include <optional>
#include <tuple>

namespace qtc {

namespace {

void deliver(memory_link_pointer self, bytes data) {
  auto& st = self->state;
  if (st.session && !st.paused)
    self->send(st.session, data_atom::value, std::move(data));
  else
    st.early.push_back(std::move(data));
}

/// Delivers what arrived before the session was attached or while it was not reading.
void flush_early(memory_link_pointer self) {
  auto& st = self->state;
  while (st.session && !st.paused && !st.early.empty()) {
    self->send(st.session, data_atom::value, std::move(st.early.front()));
    st.early.pop_front();
  }
}

/// When bytes written now arrive at the other end: after what was written before them has passed
/// the wire at its bandwidth, plus the wire's latency.
caf::timespan delivery_delay(memory_link_pointer self, std::size_t size) {
  auto& st = self->state;
  if (st.bandwidth == 0)
    return st.latency;
  auto now = self->clock().now();
  auto start = std::max(now, st.free_at);
  auto nanos =
      static_cast<std::int64_t>(size) * 1'000'000'000 / static_cast<std::int64_t>(st.bandwidth);
  st.free_at = start + caf::timespan{nanos};
  return (st.free_at - now) + st.latency;
}

/// Puts what this end sends to a partner in another lane into its lane's outbox.
void send_across(memory_link_pointer self, wire_crossing::kind what, caf::timespan delay,
                 bytes data) {
  auto& r = self->state.remote;
  r.port->post(what, self->clock().now() + delay, r.lane, r.end).data = std::move(data);
}

} // namespace

std::size_t lane_port::lane_of_ip(const std::string& ip) const {
  if (!lane_of)
    return lane;
  auto i = lane_of->find(ip);
  return i == lane_of->end() ? lane : i->second;
}

wire_crossing& lane_port::post(wire_crossing::kind what, caf::actor_clock::time_point at,
                               std::size_t to_lane, std::uint64_t end) {
  auto& c = outbox.emplace_back();
  c.what = what;
  c.at = at;
  c.from_lane = lane;
  c.to_lane = to_lane;
  c.end = end;
  return c;
}

memory_link_actor::behavior_type memory_link(memory_link_pointer self, caf::timespan latency,
                                             std::uint64_t bandwidth, bool silent,
                                             remote_end remote) {
  self->state.latency = latency;
  self->state.bandwidth = bandwidth;
  self->state.silent = silent;
  self->state.remote = std::move(remote);
  // The other end hears of the close after the wire's latency when it is in another lane (it
  // could not hear of it sooner), at once within a lane.
  auto end = [self] {
    auto& st = self->state;
    if (st.partner)
      self->send(caf::actor_cast<memory_link_actor>(st.partner), linkdown_atom::value);
    else if (st.remote.port)
      send_across(self, wire_crossing::kind::linkdown, st.latency, {});
    self->quit();
  };
  self->set_down_handler([end](const caf::down_msg&) { end(); });
  return {
      [self](attach_atom, peer_session_actor& session) {
        self->state.session = std::move(session);
        self->monitor(self->state.session);
        flush_early(self);
      },
      [self](read_atom, bool on) {
        // No TCP window in memory: what the other end writes meanwhile waits here.
        self->state.paused = !on;
        flush_early(self);
      },
      [self](link_atom, peer_link_actor& partner) { self->state.partner = std::move(partner); },
      [self](write_atom, bytes& data) {
        auto& st = self->state;
        st.written += data.size();
        if (st.session)
          self->send(st.session, written_atom::value, st.written);
        if ((!st.partner && !st.remote.port) || st.silent)
          return;
        auto delay = delivery_delay(self, data.size());
        if (!st.partner) {
          send_across(self, wire_crossing::kind::data, delay, std::move(data));
          return;
        }
        auto to = caf::actor_cast<memory_link_actor>(st.partner);
        if (delay.count() > 0)
          self->delayed_send(to, delay, data_atom::value, std::move(data));
        else
          self->send(to, data_atom::value, std::move(data));
      },
      [self, end](close_atom) { end(); },
      [self](data_atom, bytes& data) {
        if (!self->state.silent)
          deliver(self, std::move(data));
      },
      [self](close_atom, const std::string&) { self->state.silent = true; },
      [self](linkdown_atom) {
        if (self->state.session)
          self->send(self->state.session, linkdown_atom::value);
        self->state.partner = nullptr;
        self->state.remote.port = nullptr;
        self->quit();
      },
  };
}

namespace {

/// Whether a partition separates the two nodes.
bool across(const memory_network_state& st, const std::string& a, const std::string& b) {
  return !st.cut_off.empty() && st.cut_off.contains(a) != st.cut_off.contains(b);
}

caf::timespan draw_latency(memory_network_state& st) {
  const auto& m = st.model;
  if (m.latency_max <= m.latency_min)
    return m.latency_min;
  std::uniform_int_distribution<std::int64_t> d{m.latency_min.count(), m.latency_max.count()};
  return caf::timespan{d(st.rng)};
}

/// The bandwidth of one direction of a new wire.
std::uint64_t draw_bandwidth(memory_network_state& st) {
  const auto& m = st.model;
  if (m.bandwidth_max <= m.bandwidth_min)
    return m.bandwidth_min;
  std::uniform_int_distribution<std::uint64_t> d{m.bandwidth_min, m.bandwidth_max};
  return d(st.rng);
}

/// Keeps `end` in the tables: to cut or silence it by address, and (for an end of a wire across
/// lanes, `number` != 0) to find it when something arrives for it from another lane.
void track_end(memory_network_pointer self, const memory_link_actor& end, const std::string& ip,
               const std::string& peer_ip, std::uint64_t number = 0) {
  auto& st = self->state;
  self->monitor(end);
  st.wire_ends[end.id()] = wire_end{end, ip, peer_ip, number};
  if (number != 0)
    st.port->ends[number] = caf::actor_cast<caf::strong_actor_ptr>(end);
}

/// Makes a wire from the node at `from_ip` to the listener at `to`, whose manager is `manager`.
void make_wire(memory_network_pointer self, const std::string& from_ip, const std::string& to,
               const peer_manager_actor& manager, const peer_session_actor& session) {
  auto& st = self->state;
  auto to_ip = endpoint_host(to);
  auto latency = draw_latency(st);
  auto up = draw_bandwidth(st);
  auto down = draw_bandwidth(st);
  auto dialing = self->spawn(memory_link, latency, up, st.silent.contains(from_ip), remote_end{});
  auto accepting = self->spawn(memory_link, latency, down, st.silent.contains(to_ip), remote_end{});
  track_end(self, dialing, from_ip, to_ip);
  track_end(self, accepting, to_ip, from_ip);
  ++st.wires_made;
  self->send(dialing, link_atom::value, peer_link_actor{accepting});
  self->send(accepting, link_atom::value, peer_link_actor{dialing});
  self->send(dialing, attach_atom::value, session);
  self->send(session, link_atom::value, peer_link_actor{dialing});
  auto port = st.next_port++;
  self->send(manager, accept_atom::value, from_ip, port, accepted_link_actor{accepting});
}

/// Dials a listener of another lane: this lane's end of the wire is made now and the connect
/// travels with the wire's latency, as the bytes written meanwhile do (they follow it).
void dial_across(memory_network_pointer self, const std::string& from_ip, const std::string& to,
                 const peer_session_actor& session, std::size_t lane) {
  auto& st = self->state;
  auto& port = *st.port;
  auto wire = ((port.lane + 1) << 40) | ++port.wires_begun;
  auto latency = draw_latency(st);
  auto dialing = self->spawn(memory_link, latency, draw_bandwidth(st), st.silent.contains(from_ip),
                             remote_end{st.port, lane, wire * 2});
  track_end(self, dialing, from_ip, endpoint_host(to), wire * 2 + 1);
  self->send(dialing, attach_atom::value, session);
  self->send(session, link_atom::value, peer_link_actor{dialing});
  auto& c = port.post(wire_crossing::kind::connect, self->clock().now() + latency, lane, wire * 2);
  c.from_ip = from_ip;
  c.to = to;
  c.latency = latency;
}

/// A connect from another lane arrived: makes this lane's (accepting) end, or refuses, which
/// the dialing end hears after the wire's latency.
void accept_across(memory_network_pointer self, std::uint64_t end, std::size_t from_lane,
                   const std::string& from_ip, const std::string& to, caf::timespan latency) {
  auto& st = self->state;
  auto to_ip = endpoint_host(to);
  auto i = st.listeners.find(to);
  if (i == st.listeners.end() || across(st, from_ip, to_ip)) {
    ++st.wires_refused;
    st.port->post(wire_crossing::kind::linkdown, self->clock().now() + latency, from_lane, end + 1);
    return;
  }
  // The direction back is drawn here, from this lane's seed.
  auto accepting = self->spawn(memory_link, latency, draw_bandwidth(st), st.silent.contains(to_ip),
                               remote_end{st.port, from_lane, end + 1});
  track_end(self, accepting, to_ip, from_ip, end);
  ++st.wires_made;
  self->send(i->second, accept_atom::value, from_ip, st.next_port++,
             accepted_link_actor{accepting});
}

/// This lane's end numbered `end` of a wire across lanes, if it still exists.
std::optional<memory_link_actor> crossing_end(const memory_network_state& st, std::uint64_t end) {
  if (!st.port)
    return std::nullopt;
  auto i = st.port->ends.find(end);
  if (i == st.port->ends.end())
    return std::nullopt;
  return caf::actor_cast<memory_link_actor>(i->second);
}

/// Puts `side` on one side of a partition (empty: heals) and cuts the wires across it.
void partition(memory_network_pointer self, const std::vector<std::string>& side) {
  auto& st = self->state;
  st.cut_off = std::set<std::string>(side.begin(), side.end());
  for (const auto& [id, end] : st.wire_ends)
    if (across(st, end.ip, end.peer_ip))
      self->send(end.link, linkdown_atom::value);
}

} // namespace

memory_network_actor::behavior_type memory_network(memory_network_pointer self,
                                                   caf::timespan latency) {
  return modelled_network(self, wire_model{latency, latency, 0, 0, 1});
}

memory_network_actor::behavior_type modelled_network(memory_network_pointer self, wire_model model,
                                                     std::shared_ptr<lane_port> port) {
  self->state.model = model;
  self->state.rng.seed(model.seed);
  self->state.port = std::move(port);
  // Ends leave the table as their links end: a long run makes and drops many wires.
  // A listener that ended (its node stopped or crashed) refuses connections from then on.
  self->set_down_handler([self](const caf::down_msg& msg) {
    auto& st = self->state;
    if (auto i = st.wire_ends.find(msg.source.id()); i != st.wire_ends.end()) {
      if (i->second.crossing_end != 0)
        st.port->ends.erase(i->second.crossing_end);
      st.wire_ends.erase(i);
      return;
    }
    std::erase_if(st.listeners, [&](const auto& x) { return x.second.address() == msg.source; });
  });
  return {
      [self](put_atom, const std::string& endpoint, peer_manager_actor& manager) {
        self->monitor(manager);
        self->state.listeners[endpoint] = std::move(manager);
      },
      [self](connect_atom, const std::string& from_ip, const std::string& to,
             peer_session_actor& session) {
        auto& st = self->state;
        if (st.port) {
          auto lane = st.port->lane_of_ip(endpoint_host(to));
          if (lane != st.port->lane) {
            dial_across(self, from_ip, to, session, lane);
            return;
          }
        }
        auto i = st.listeners.find(to);
        if (i == st.listeners.end() || across(st, from_ip, endpoint_host(to))) {
          ++st.wires_refused;
          self->send(session, linkdown_atom::value); // connection refused
          return;
        }
        make_wire(self, from_ip, to, i->second, session);
      },
      [self](connect_atom, std::uint64_t end, std::uint64_t from_lane, const std::string& from_ip,
             const std::string& to, caf::timespan latency) {
        if (self->state.port)
          accept_across(self, end, static_cast<std::size_t>(from_lane), from_ip, to, latency);
      },
      [self](data_atom, std::uint64_t end, bytes& data) {
        if (auto to = crossing_end(self->state, end))
          self->send(*to, data_atom::value, std::move(data));
      },
      [self](linkdown_atom, std::uint64_t end) {
        if (auto to = crossing_end(self->state, end))
          self->send(*to, linkdown_atom::value);
      },
      [self](close_atom, const std::string& ip) {
        auto& st = self->state;
        st.silent.insert(ip);
        for (const auto& [id, end] : st.wire_ends)
          if (end.ip == ip)
            self->send(end.link, close_atom::value, std::string{"silent"});
      },
      [self](partition_atom, const std::vector<std::string>& side) { partition(self, side); },
      [self](status_atom) {
        auto& st = self->state;
        return caf::make_result(st.wires_made, st.wires_refused,
                                static_cast<std::uint64_t>(st.wire_ends.size()));
      },
  };
}

namespace {

/// The message that carries crossing `c` to the receiving end itself (`direct`) or to its lane's
/// network.
caf::mailbox_element_ptr crossing_message(wire_crossing& c, bool direct) {
  auto id = caf::make_message_id();
  using kind = wire_crossing::kind;
  if (c.what == kind::connect)
    return caf::make_mailbox_element(nullptr, id, {}, connect_atom::value, c.end,
                                     static_cast<std::uint64_t>(c.from_lane), std::move(c.from_ip),
                                     std::move(c.to), c.latency);
  if (c.what == kind::linkdown)
    return direct ? caf::make_mailbox_element(nullptr, id, {}, linkdown_atom::value)
                  : caf::make_mailbox_element(nullptr, id, {}, linkdown_atom::value, c.end);
  return direct ? caf::make_mailbox_element(nullptr, id, {}, data_atom::value, std::move(c.data))
                : caf::make_mailbox_element(nullptr, id, {}, data_atom::value, c.end,
                                            std::move(c.data));
}

} // namespace

void exchange_crossings(const std::vector<lane_door>& lanes) {
  for (const auto& from : lanes) {
    for (auto& c : from.port->outbox) {
      const auto& to = lanes.at(c.to_lane);
      auto& clock = to.system->clock();
      // A crossing is sent at least one round's length before it arrives, so it is never due
      // before the receiving lane's present.
      if (c.at < clock.now())
        c.at = clock.now();
      auto end =
          c.what == wire_crossing::kind::connect ? to.port->ends.end() : to.port->ends.find(c.end);
      bool direct = end != to.port->ends.end();
      auto receiver = direct ? end->second : caf::actor_cast<caf::strong_actor_ptr>(to.network);
      clock.schedule_message(c.at, std::move(receiver), crossing_message(c, direct));
    }
    from.port->outbox.clear();
  }
}

std::optional<std::string> memory_dialer::dial(caf::actor_system&, const ip_bytes& ip,
                                               std::uint16_t port, peer_session_actor session) {
  caf::anon_send(network_, connect_atom::value, local_ip_, format_endpoint(ip, port),
                 std::move(session));
  return std::nullopt;
}

} // namespace qtc
