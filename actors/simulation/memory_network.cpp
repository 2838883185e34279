#include "actors/simulation/memory_network.hpp"

#include "runtime/net/ip_address.hpp"

#include <caf/send.hpp>

#include <algorithm>
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

} // namespace

memory_link_actor::behavior_type memory_link(memory_link_pointer self, caf::timespan latency,
                                             std::uint64_t bandwidth, bool silent) {
  self->state.latency = latency;
  self->state.bandwidth = bandwidth;
  self->state.silent = silent;
  auto end = [self] {
    if (self->state.partner)
      self->send(caf::actor_cast<memory_link_actor>(self->state.partner), linkdown_atom::value);
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
        if (!st.partner || st.silent)
          return;
        auto to = caf::actor_cast<memory_link_actor>(st.partner);
        auto delay = delivery_delay(self, data.size());
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

/// Makes a wire from the node at `from_ip` to the listener at `to`, whose manager is `manager`.
void make_wire(memory_network_pointer self, const std::string& from_ip, const std::string& to,
               const peer_manager_actor& manager, const peer_session_actor& session) {
  auto& st = self->state;
  auto to_ip = endpoint_host(to);
  auto latency = draw_latency(st);
  auto bw = st.model.bandwidth;
  auto dialing = self->spawn(memory_link, latency, bw, st.silent.contains(from_ip));
  auto accepting = self->spawn(memory_link, latency, bw, st.silent.contains(to_ip));
  for (const auto& [end, ip, peer] :
       {std::tuple{dialing, from_ip, to_ip}, std::tuple{accepting, to_ip, from_ip}}) {
    self->monitor(end);
    st.wire_ends[end.id()] = wire_end{end, ip, peer};
  }
  ++st.wires_made;
  self->send(dialing, link_atom::value, peer_link_actor{accepting});
  self->send(accepting, link_atom::value, peer_link_actor{dialing});
  self->send(dialing, attach_atom::value, session);
  self->send(session, link_atom::value, peer_link_actor{dialing});
  auto port = st.next_port++;
  self->send(manager, accept_atom::value, from_ip, port, accepted_link_actor{accepting});
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
  return modelled_network(self, wire_model{latency, latency, 0, 1});
}

memory_network_actor::behavior_type modelled_network(memory_network_pointer self,
                                                     wire_model model) {
  self->state.model = model;
  self->state.rng.seed(model.seed);
  // Ends leave the table as their links end: a long run makes and drops many wires.
  // A listener that ended (its node stopped or crashed) refuses connections from then on.
  self->set_down_handler([self](const caf::down_msg& msg) {
    auto& st = self->state;
    if (st.wire_ends.erase(msg.source.id()) > 0)
      return;
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
        auto i = st.listeners.find(to);
        if (i == st.listeners.end() || across(st, from_ip, endpoint_host(to))) {
          ++st.wires_refused;
          self->send(session, linkdown_atom::value); // connection refused
          return;
        }
        make_wire(self, from_ip, to, i->second, session);
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

std::optional<std::string> memory_dialer::dial(caf::actor_system&, const ip_bytes& ip,
                                               std::uint16_t port, peer_session_actor session) {
  caf::anon_send(network_, connect_atom::value, local_ip_, format_endpoint(ip, port),
                 std::move(session));
  return std::nullopt;
}

} // namespace qtc
