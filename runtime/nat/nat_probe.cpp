#include "runtime/nat/nat_probe.hpp"

#include <algorithm>
#include <utility>

namespace qtc::nat {

namespace {

std::string format(const stun::endpoint& e) {
  return format_endpoint(e.ip, e.port);
}

} // namespace

nat_probe::nat_probe(std::vector<stun_server> servers, std::vector<ip_bytes> local,
                     retransmission_timing timing, id_source new_id)
    : servers_(std::move(servers)), local_(std::move(local)), timing_(timing),
      new_id_(std::move(new_id)) {}

void nat_probe::start(time_point now) {
  server_ = 0;
  result_ = probe_result{};
  if (servers_.empty()) {
    events_.push_back(
        make_event(true, "no STUN server to ask", "", "none configured, or no name resolved"));
    step_ = step::done;
    return;
  }
  result_.servers_tried = 1;
  ask(step::mapping_1, servers_[0].address, false, false, now);
}

void nat_probe::ask(step s, stun::endpoint to, bool change_ip, bool change_port, time_point now) {
  step_ = s;
  id_ = new_id_();
  to_ = to;
  socket_ = s == step::filtering_2 || s == step::filtering_3 ? 1 : 0;
  stun::binding_request r;
  r.id = id_;
  r.change_ip = change_ip;
  r.change_port = change_port;
  request_ = stun::encode_binding_request(r);
  schedule_ = retransmission{timing_, now};
  on_time(now);
}

void nat_probe::on_time(time_point now) {
  if (step_ == step::idle || step_ == step::done)
    return;
  if (schedule_.send_due(now)) {
    outgoing_.push_back({to_, request_, socket_});
    return;
  }
  if (schedule_.expired(now))
    on_no_answer(now);
}

std::optional<nat_probe::time_point> nat_probe::next_wakeup() const {
  if (step_ == step::idle || step_ == step::done)
    return std::nullopt;
  return schedule_.next_event();
}

void nat_probe::on_datagram(const stun::endpoint& from, std::span<const std::uint8_t> payload,
                            time_point now) {
  if (step_ == step::idle || step_ == step::done) {
    ++ignored_;
    return;
  }
  // Only the server asked can make us give up on it: anyone else's noise is ignored (an
  // answer to a CHANGE-REQUEST comes from another address, but carries our transaction id).
  bool from_server = from == to_;
  auto decoded = stun::decode(payload);
  if (!decoded.msg) {
    if (from_server && step_ == step::mapping_1)
      server_failed("STUN server sent an unreadable answer", decoded.error, "unreadable", now);
    else
      ++ignored_;
    return;
  }
  const auto& m = *decoded.msg;
  if (m.id != id_ || m.cls == stun::message_class::request
      || m.cls == stun::message_class::indication) {
    if (from_server && step_ == step::mapping_1)
      server_failed("STUN server answered another transaction",
                    "its transaction id is not the one we sent", "wrong-transaction", now);
    else
      ++ignored_;
    return;
  }
  on_answer(m, from, now);
}

void nat_probe::on_answer(const stun::message& m, const stun::endpoint& from, time_point now) {
  if (m.cls == stun::message_class::error_response) {
    auto detail = "error " + std::to_string(m.error_code.value_or(0)) + " " + m.error_reason;
    if (step_ == step::mapping_1)
      server_failed("STUN server answered with an error", detail, "error", now);
    else
      on_no_answer(now); // a later test the server will not do: as if unanswered
    return;
  }
  auto mapped = stun::reported_address(m);
  if (!mapped) {
    if (step_ == step::mapping_1)
      server_failed("STUN server's answer has no mapped address", "", "no-address", now);
    else
      on_no_answer(now);
    return;
  }
  switch (step_) {
  case step::mapping_1:
    other_ = m.other_address;
    after_mapping_1(*mapped, now);
    break;
  case step::mapping_2:
    if (*mapped == *result_.mapped) {
      after_mapping(nat_behaviour::endpoint_independent, now);
    } else {
      a2_ = *mapped;
      ask(step::mapping_3, *other_, false, false, now);
    }
    break;
  case step::mapping_3:
    after_mapping(*mapped == *a2_ ? nat_behaviour::address_dependent
                                  : nat_behaviour::address_and_port_dependent,
                  now);
    break;
  case step::second_server:
    after_mapping(*mapped == *result_.mapped ? nat_behaviour::endpoint_independent
                                             : nat_behaviour::address_and_port_dependent,
                  now);
    break;
  case step::filtering_2:
    finish(nat_behaviour::endpoint_independent);
    break;
  case step::filtering_3:
    finish(nat_behaviour::address_dependent);
    break;
  default:
    break;
  }
  (void)from;
}

void nat_probe::after_mapping_1(const stun::endpoint& mapped, time_point now) {
  result_.mapped = mapped;
  result_.server = servers_[server_].name;
  if (is_local(mapped.ip)) {
    result_.mapping = nat_behaviour::no_nat;
    finish(nat_behaviour::no_nat);
    return;
  }
  if (other_ && other_->ip != servers_[server_].address.ip) {
    ask(step::mapping_2, {other_->ip, servers_[server_].address.port}, false, false, now);
    return;
  }
  other_.reset(); // an OTHER-ADDRESS on the same IP cannot tell anything apart
  // No RFC 5780 support: the same question to a server at another address, if there is one.
  for (std::size_t i = server_ + 1; i < servers_.size(); ++i)
    if (servers_[i].address.ip != servers_[server_].address.ip) {
      second_ = i;
      ask(step::second_server, servers_[i].address, false, false, now);
      return;
    }
  events_.push_back(
      make_event(false, "NAT behaviour not determined", servers_[server_].name,
                 "the server does not support RFC 5780 (no OTHER-ADDRESS) and no second "
                 "server at another address is configured"));
  finish(nat_behaviour::unknown);
}

void nat_probe::after_mapping(nat_behaviour mapping, time_point now) {
  result_.mapping = mapping;
  if (!other_) {
    finish(nat_behaviour::unknown); // filtering needs CHANGE-REQUEST, an RFC 5780 server's
    return;
  }
  ask(step::filtering_2, servers_[server_].address, true, true, now);
}

void nat_probe::on_no_answer(time_point now) {
  switch (step_) {
  case step::mapping_1:
    server_failed("STUN server did not answer",
                  std::to_string(schedule_.sends()) + " requests went unanswered", "no-answer",
                  now);
    break;
  case step::mapping_2:
  case step::mapping_3:
  case step::second_server:
    events_.push_back(
        make_event(true, "STUN server's other address did not answer",
                   step_ == step::second_server ? servers_[second_].name : servers_[server_].name,
                   "mapping behaviour unknown"));
    after_mapping(nat_behaviour::unknown, now);
    break;
  case step::filtering_2:
    // No answer from the other address: the NAT filtered it. Is it the address or the port?
    ask(step::filtering_3, servers_[server_].address, false, true, now);
    break;
  case step::filtering_3:
    finish(nat_behaviour::address_and_port_dependent);
    break;
  default:
    break;
  }
}

void nat_probe::server_failed(const std::string& what, const std::string& detail, const char* cause,
                              time_point now) {
  events_.push_back(make_event(true, what, servers_[server_].name, detail, cause));
  next_server(now);
}

void nat_probe::next_server(time_point now) {
  if (++server_ >= servers_.size()) {
    events_.push_back(make_event(true, "no STUN server answered", "",
                                 std::to_string(servers_.size()) + " servers tried"));
    step_ = step::done;
    return;
  }
  ++result_.servers_tried;
  ask(step::mapping_1, servers_[server_].address, false, false, now);
}

void nat_probe::finish(nat_behaviour filtering) {
  result_.filtering = filtering;
  step_ = step::done;
  events_.push_back(make_event(false, "NAT behaviour found", result_.server,
                               "mapped " + format(*result_.mapped) + ", mapping "
                                   + to_string(result_.mapping) + ", filtering "
                                   + to_string(filtering)));
}

bool nat_probe::is_local(const ip_bytes& ip) const {
  return std::find(local_.begin(), local_.end(), ip) != local_.end();
}

std::vector<outgoing_datagram> nat_probe::take_outgoing() {
  return std::exchange(outgoing_, {});
}

std::vector<probe_event> nat_probe::take_events() {
  return std::exchange(events_, {});
}

} // namespace qtc::nat
