#include "actors/simulation/udp_network.hpp"

#include "messages/primitives/byte_io.hpp"

#include <algorithm>
#include <utility>

namespace qtc::sim {

namespace {

endpoint_key key(const endpoint& e) {
  return {e.ip, e.port};
}

} // namespace

/// A port of the LAN host: sends through the network, polls its inbox.
class udp_network::port final : public udp_port {
public:
  port(std::shared_ptr<udp_network> net, endpoint local) : net_(std::move(net)), local_(local) {
    net_->inboxes_[key(local_)] = &inbox_;
  }
  ~port() override {
    net_->inboxes_.erase(key(local_));
  }
  bool send(const ip_bytes& ip, std::uint16_t to_port, std::span<const std::uint8_t> payload,
            std::string&) override {
    net_->send(local_, {ip, to_port}, bytes(payload.begin(), payload.end()));
    return true;
  }
  std::vector<datagram> poll() override {
    return std::exchange(inbox_, {});
  }
  std::optional<std::pair<ip_bytes, std::uint16_t>> local_endpoint() const override {
    return std::pair{local_.ip, local_.port};
  }

private:
  std::shared_ptr<udp_network> net_;
  endpoint local_;
  std::vector<datagram> inbox_;
};

void udp_network::add_service(const endpoint& at, udp_service service, bool on_lan) {
  services_[key(at)] = std::move(service);
  if (on_lan)
    lan_.insert(key(at));
}

void udp_network::remove_service(const endpoint& at) {
  services_.erase(key(at));
  lan_.erase(key(at));
}

std::unique_ptr<udp_port> udp_network::open(const ip_bytes& host_ip) {
  return std::make_unique<port>(shared_from_this(), endpoint{host_ip, next_local_port_++});
}

std::size_t udp_network::received(const endpoint& at) const {
  auto i = received_.find(key(at));
  return i == received_.end() ? 0 : i->second;
}

/// The public endpoint a LAN datagram to `to` leaves with (RFC 4787 mapping behaviour).
endpoint udp_network::translate_out(const endpoint& from, const endpoint& to) {
  if (nat_.mapping == nat_behaviour::no_nat)
    return from;
  endpoint_key remote{};
  if (nat_.mapping == nat_behaviour::address_dependent)
    remote = {to.ip, 0};
  else if (nat_.mapping == nat_behaviour::address_and_port_dependent)
    remote = key(to);
  auto [i, fresh] = mappings_.try_emplace({key(from), remote}, next_public_port_);
  if (fresh) {
    reverse_[next_public_port_] = from;
    ++next_public_port_;
  }
  contacted_[i->second].insert(key(to));
  return {nat_.public_ip, i->second};
}

/// Whether the NAT drops a datagram from `from` to its public port (filtering behaviour).
bool udp_network::filtered_in(const endpoint& from, std::uint16_t public_port) const {
  auto c = contacted_.find(public_port);
  if (c == contacted_.end())
    return true;
  switch (nat_.filtering) {
  case nat_behaviour::endpoint_independent:
    return false;
  case nat_behaviour::address_dependent:
    for (const auto& k : c->second)
      if (k.first == from.ip)
        return false;
    return true;
  default:
    return c->second.count(key(from)) == 0;
  }
}

void udp_network::send(const endpoint& from, const endpoint& to, const bytes& payload) {
  auto s = services_.find(key(to));
  if (s == services_.end())
    return; // nobody there: lost
  // The gateway is on our side of the NAT: datagrams to it are not translated.
  auto seen_as = lan_.count(key(to)) != 0 ? from : translate_out(from, to);
  ++received_[key(to)];
  auto service = s->second; // a service may add or remove services
  for (auto& [reply_from, reply] : service(seen_as, to, payload))
    deliver(seen_as, reply_from, std::move(reply));
}

void udp_network::deliver(const endpoint& to, const endpoint& from, bytes payload) {
  endpoint local = to;
  if (nat_.mapping != nat_behaviour::no_nat && to.ip == nat_.public_ip) {
    auto r = reverse_.find(to.port);
    if (r == reverse_.end() || filtered_in(from, to.port))
      return;
    local = r->second;
  }
  auto inbox = inboxes_.find(key(local));
  if (inbox == inboxes_.end())
    return;
  inbox->second->push_back({from.ip, from.port, std::move(payload)});
}

udp_service stun_server(endpoint primary, endpoint alternate, bool rfc5780) {
  return [=](const endpoint& from, const endpoint& to, const bytes& payload) -> service_reply {
    auto decoded = stun::decode(payload);
    if (!decoded.msg || decoded.msg->cls != stun::message_class::request)
      return {};
    const auto& m = *decoded.msg;
    // The answer leaves from the address asked, changed as CHANGE-REQUEST says (RFC 5780 7.2).
    endpoint source = to;
    if (rfc5780 && m.change_ip)
      source.ip = to.ip == primary.ip ? alternate.ip : primary.ip;
    if (rfc5780 && m.change_port)
      source.port = to.port == primary.port ? alternate.port : primary.port;
    std::optional<endpoint> other;
    if (rfc5780)
      other = alternate;
    return {{source, stun::encode_binding_success(m.id, from, other, source)}};
  };
}

void add_stun_server(udp_network& net, endpoint primary, endpoint alternate, bool rfc5780) {
  auto s = stun_server(primary, alternate, rfc5780);
  net.add_service(primary, s);
  if (!rfc5780)
    return;
  net.add_service(alternate, s);
  net.add_service({primary.ip, alternate.port}, s);
  net.add_service({alternate.ip, primary.port}, s);
}

gateway_model::gateway_model(ip_bytes ip, ip_bytes public_ip, bool pcp, bool natpmp,
                             std::uint32_t max_lifetime, clock_fn now)
    : ip_(ip), public_ip_(public_ip), pcp_(pcp), natpmp_(natpmp), max_lifetime_(max_lifetime),
      now_(std::move(now)), started_(now_()) {}

void gateway_model::restart() {
  mappings_.clear();
  started_ = now_();
}

std::uint32_t gateway_model::epoch() const {
  return static_cast<std::uint32_t>(
      std::chrono::duration_cast<std::chrono::seconds>(now_() - started_).count());
}

udp_service gateway_model::service() {
  return [self = shared_from_this()](const endpoint& from, const endpoint&,
                                     const bytes& payload) -> service_reply {
    if (payload.size() < 2)
      return {};
    if (payload[0] == 2 && self->pcp_)
      return self->on_pcp(from, payload);
    if (payload[0] == 2 || payload[0] == 0)
      return self->on_natpmp(from, payload);
    return {};
  };
}

/// RFC 6887 MAP: 24-byte header (version, opcode, lifetime, client address), 36-byte body
/// (nonce, protocol, internal port, suggested port and address); the answer echoes the body
/// with the assigned port and address.
service_reply gateway_model::on_pcp(const endpoint& from, const bytes& req) {
  if (req.size() < 60 || req[1] != 1)
    return {};
  ++pcp_requests;
  auto lifetime = std::min(load_be32(req, 4), max_lifetime_);
  auto internal_port = load_be16(req, 40);
  auto external_port = internal_port;
  if (lifetime == 0) {
    ++deletions;
    mappings_.erase(external_port);
  } else {
    mappings_[external_port] = lifetime;
  }
  bytes out{2, 0x81, 0, 0};
  append_be32(out, lifetime);
  append_be32(out, epoch());
  out.resize(24, 0);
  out.insert(out.end(), req.begin() + 24, req.begin() + 40); // nonce, protocol, reserved
  append_be16(out, internal_port);
  append_be16(out, external_port);
  out.insert(out.end(), public_ip_.begin(), public_ip_.end());
  return {{{ip_, 5351}, out}};
}

/// RFC 6886: the external address (opcode 0) and TCP/UDP mappings (2/1); a PCP request to a
/// NAT-PMP-only gateway gets "unsupported version" (RFC 6887 section 9).
service_reply gateway_model::on_natpmp(const endpoint& from, const bytes& req) {
  bytes out{0, static_cast<std::uint8_t>(128 + req[1])};
  if (req[0] != 0 || !natpmp_) {
    append_be16(out, 1); // UNSUPPORTED_VERSION
    append_be32(out, epoch());
    return {{{ip_, 5351}, out}};
  }
  ++natpmp_requests;
  append_be16(out, 0);
  append_be32(out, epoch());
  if (req[1] == 0) {
    out.insert(out.end(), public_ip_.begin() + 12, public_ip_.end());
    return {{{ip_, 5351}, out}};
  }
  if (req.size() < 12)
    return {};
  auto internal_port = load_be16(req, 4);
  auto lifetime = std::min(load_be32(req, 8), max_lifetime_);
  if (lifetime == 0) {
    ++deletions;
    mappings_.erase(internal_port);
  } else {
    mappings_[internal_port] = lifetime;
  }
  append_be16(out, internal_port);
  append_be16(out, internal_port);
  append_be32(out, lifetime);
  (void)from;
  return {{{ip_, 5351}, out}};
}

} // namespace qtc::sim
