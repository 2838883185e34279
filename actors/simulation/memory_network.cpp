#include "actors/simulation/memory_network.hpp"

#include <caf/send.hpp>

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

} // namespace

memory_link_actor::behavior_type memory_link(memory_link_pointer self, caf::timespan latency,
                                             bool silent) {
  self->state.latency = latency;
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
        if (st.latency.count() > 0)
          self->delayed_send(to, st.latency, data_atom::value, std::move(data));
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

memory_network_actor::behavior_type memory_network(memory_network_pointer self,
                                                   caf::timespan latency) {
  self->state.latency = latency;
  return {
      [self](put_atom, const std::string& endpoint, peer_manager_actor& manager) {
        self->state.listeners[endpoint] = std::move(manager);
      },
      [self](connect_atom, const std::string& from_ip, const std::string& to,
             peer_session_actor& session) {
        auto& st = self->state;
        auto i = st.listeners.find(to);
        if (i == st.listeners.end()) {
          self->send(session, linkdown_atom::value); // connection refused
          return;
        }
        auto to_ip = to.substr(0, to.rfind(':'));
        if (to_ip.size() > 2 && to_ip.front() == '[')
          to_ip = to_ip.substr(1, to_ip.size() - 2);
        auto dialing = self->spawn(memory_link, st.latency, st.silent.contains(from_ip));
        auto accepting = self->spawn(memory_link, st.latency, st.silent.contains(to_ip));
        st.wire_ends[from_ip].push_back(dialing);
        st.wire_ends[to_ip].push_back(accepting);
        self->send(dialing, link_atom::value, peer_link_actor{accepting});
        self->send(accepting, link_atom::value, peer_link_actor{dialing});
        self->send(dialing, attach_atom::value, session);
        self->send(session, link_atom::value, peer_link_actor{dialing});
        auto port = st.next_port++;
        self->send(i->second, accept_atom::value, from_ip, port, accepted_link_actor{accepting});
      },
      [self](close_atom, const std::string& ip) {
        auto& st = self->state;
        st.silent.insert(ip);
        for (const auto& end : st.wire_ends[ip])
          self->send(end, close_atom::value, std::string{"silent"});
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
