#include "runtime/nat/port_mapper.hpp"

#include "runtime/nat/natpmp_message.hpp"

#include <algorithm>
#include <utility>

namespace qtc::nat {

namespace {

constexpr port_mapping_method method_order[] = {
    port_mapping_method::pcp, port_mapping_method::natpmp, port_mapping_method::upnp};

/// The first retry after a mapping was lost (doubling after each failed round).
constexpr std::chrono::seconds first_lost_retry{5};

std::string describe(const port_mapping& m) {
  return to_string(m.method) + " " + format_endpoint(m.external_ip, m.external_port) + " lease "
         + (m.lease.count() == 0 ? std::string{"permanent"}
                                 : std::to_string(m.lease.count()) + " s");
}

} // namespace

port_mapper::port_mapper(port_mapping_config config, std::optional<ip_bytes> gateway,
                         ip_bytes local_ip, std::uint16_t internal_port, nonce_source new_nonce)
    : config_(config), gateway_(gateway), local_ip_(local_ip), internal_port_(internal_port),
      new_nonce_(std::move(new_nonce)) {}

bool port_mapper::enabled(port_mapping_method m) const {
  switch (m) {
  case port_mapping_method::pcp:
    return config_.pcp;
  case port_mapping_method::natpmp:
    return config_.natpmp;
  case port_mapping_method::upnp:
    return config_.upnp;
  default:
    return false;
  }
}

void port_mapper::start(time_point now) {
  nonce_ = new_nonce_();
  try_next(port_mapping_method::none, "", now);
}

/// Tries the first enabled method after `after` in the order (none: from the start).
void port_mapper::try_next(port_mapping_method after, const std::string& why, time_point now) {
  if (!why.empty())
    events_.push_back(make_event(false, to_string(after) + " did not map the port", "", why, "",
                                 to_string(after), "failed"));
  bool past = after == port_mapping_method::none;
  for (auto m : method_order) {
    if (past && enabled(m)) {
      try_method(m, now);
      return;
    }
    past = past || m == after;
  }
  // Every method failed: said once (until a mapping succeeds again), retried quietly. A mapping
  // we had is most likely lost to a passing gateway outage (a router restarting): it is tried
  // again soon, then less and less often, up to retry_after; without one, after retry_after.
  trying_ = port_mapping_method::none;
  phase_ = phase::waiting_retry;
  if (mapping_ || lost_backoff_.count() > 0)
    lost_backoff_ = lost_backoff_.count() == 0 ? std::min(first_lost_retry, config_.retry_after)
                                               : std::min(lost_backoff_ * 2, config_.retry_after);
  auto wait = lost_backoff_.count() > 0 ? lost_backoff_ : config_.retry_after;
  retry_at_ = now + wait;
  renewing_ = false;
  mapping_.reset();
  if (!failure_said_)
    events_.push_back(make_event(true, "no gateway mapped the P2P port; relying on STUN alone", "",
                                 "trying again in " + std::to_string(wait.count()) + " s"));
  failure_said_ = true;
}

void port_mapper::try_method(port_mapping_method m, time_point now) {
  trying_ = m;
  if (m != port_mapping_method::upnp && !gateway_) {
    try_next(m, "no default gateway", now);
    return;
  }
  auto lifetime = static_cast<std::uint32_t>(config_.lease.count());
  switch (m) {
  case port_mapping_method::pcp:
    send_request(phase::pcp, pcp_request(lifetime), now);
    break;
  case port_mapping_method::natpmp:
    send_request(phase::natpmp_address, encode_natpmp_external_address_request(), now);
    break;
  default:
    phase_ = phase::upnp;
    upnp_request_ = upnp_mapping_request{internal_port_, local_ip_, internal_port_, lifetime};
    break;
  }
}

bytes port_mapper::pcp_request(std::uint32_t lifetime) const {
  pcp_map_request r;
  r.nonce = nonce_;
  r.protocol = 6; // TCP
  r.internal_port = internal_port_;
  r.suggested_external_port = internal_port_;
  // "No preference" is the all-zero address of the client's family (RFC 6887 11.1).
  r.suggested_external_ip = is_ipv4(local_ip_) ? ipv4(0, 0, 0, 0) : ip_bytes{};
  r.client_ip = local_ip_;
  r.lifetime = lifetime;
  return encode_pcp_map(r);
}

void port_mapper::send_request(phase p, bytes request, time_point now) {
  phase_ = p;
  request_ = std::move(request);
  schedule_ = retransmission{config_.timing, now};
  on_time(now);
}

void port_mapper::on_time(time_point now) {
  switch (phase_) {
  case phase::pcp:
  case phase::natpmp_address:
  case phase::natpmp_map:
    if (schedule_.send_due(now))
      outgoing_.push_back({{*gateway_, gateway_port}, request_});
    else if (schedule_.expired(now))
      try_next(trying_,
               "the gateway did not answer " + std::to_string(schedule_.sends()) + " requests",
               now);
    break;
  case phase::mapped:
    if (mapping_ && mapping_->lease.count() > 0 && now >= mapping_->renew_at) {
      renewing_ = true;
      try_method(mapping_->method, now);
    }
    break;
  case phase::waiting_retry:
    if (now >= retry_at_)
      try_next(port_mapping_method::none, "", now);
    break;
  default:
    break;
  }
}

std::optional<port_mapper::time_point> port_mapper::next_wakeup() const {
  switch (phase_) {
  case phase::pcp:
  case phase::natpmp_address:
  case phase::natpmp_map:
    return schedule_.next_event();
  case phase::mapped:
    if (mapping_ && mapping_->lease.count() > 0)
      return mapping_->renew_at;
    return std::nullopt;
  case phase::waiting_retry:
    return retry_at_;
  default:
    return std::nullopt;
  }
}

void port_mapper::on_datagram(const stun::endpoint& from, std::span<const std::uint8_t> payload,
                              time_point now) {
  if (!gateway_ || from.ip != *gateway_ || from.port != gateway_port)
    return;
  if (phase_ == phase::pcp)
    on_pcp(payload, now);
  else if (phase_ == phase::natpmp_address || phase_ == phase::natpmp_map)
    on_natpmp(payload, now);
}

void port_mapper::on_pcp(std::span<const std::uint8_t> payload, time_point now) {
  auto decoded = decode_pcp_map_response(payload);
  if (!decoded.response) {
    if (decoded.version_in_error)
      try_next(port_mapping_method::pcp, "the gateway speaks NAT-PMP, not PCP", now);
    else
      try_next(port_mapping_method::pcp, "unreadable answer: " + decoded.error, now);
    return;
  }
  const auto& r = *decoded.response;
  pcp_map_request asked;
  asked.nonce = nonce_;
  asked.protocol = 6;
  asked.internal_port = internal_port_;
  if (!answers(r, asked))
    return; // an answer to an earlier request (another nonce or port): not ours now
  if (r.result != pcp_result::success) {
    try_next(port_mapping_method::pcp, "the gateway answered " + to_string(r.result), now);
    return;
  }
  check_epoch(r.epoch, now);
  mapped({port_mapping_method::pcp,
          r.external_ip,
          r.external_port,
          std::chrono::seconds{r.lifetime},
          {},
          {}},
         now);
}

void port_mapper::on_natpmp(std::span<const std::uint8_t> payload, time_point now) {
  // A datagram without this request's version and response opcode answers another request: a
  // duplicate answer to a retransmitted external address request, or a late answer to the PCP
  // request before (NAT-PMP's UNSUPPORTED_VERSION, or PCP's own). It says nothing about this
  // request, which goes on (RFC 6887 8: duplicated and updated answers are to be expected).
  const auto expected = static_cast<std::uint8_t>(
      natpmp_response_bit
      | (phase_ == phase::natpmp_address ? natpmp_op_external_address : natpmp_op_map_tcp));
  if (payload.size() >= 2 && (payload[0] != natpmp_version || payload[1] != expected))
    return;
  if (phase_ == phase::natpmp_address) {
    auto decoded = decode_natpmp_external_address_response(payload);
    if (!decoded.response) {
      try_next(port_mapping_method::natpmp, "unreadable answer: " + decoded.error, now);
      return;
    }
    if (decoded.response->result != natpmp_result::success) {
      try_next(port_mapping_method::natpmp,
               "the gateway answered " + to_string(decoded.response->result), now);
      return;
    }
    check_epoch(decoded.response->epoch, now);
    natpmp_external_ = decoded.response->external_ip;
    send_request(phase::natpmp_map,
                 encode_natpmp_map_request(natpmp_op_map_tcp, internal_port_, internal_port_,
                                           static_cast<std::uint32_t>(config_.lease.count())),
                 now);
    return;
  }
  auto decoded = decode_natpmp_map_response(payload);
  if (!decoded.response) {
    try_next(port_mapping_method::natpmp, "unreadable answer: " + decoded.error, now);
    return;
  }
  const auto& r = *decoded.response;
  if (!answers(r, natpmp_op_map_tcp, internal_port_))
    return; // not the answer to this request
  if (r.result != natpmp_result::success) {
    try_next(port_mapping_method::natpmp, "the gateway answered " + to_string(r.result), now);
    return;
  }
  check_epoch(r.epoch, now);
  mapped({port_mapping_method::natpmp,
          natpmp_external_,
          r.mapped_port,
          std::chrono::seconds{r.lifetime},
          {},
          {}},
         now);
}

void port_mapper::on_upnp_result(const upnp_mapping_result& r, time_point now) {
  if (phase_ != phase::upnp)
    return;
  if (!r.ok) {
    try_next(port_mapping_method::upnp, r.error, now);
    return;
  }
  mapped({port_mapping_method::upnp,
          r.external_ip,
          r.external_port,
          std::chrono::seconds{r.lease_seconds},
          {},
          {}},
         now);
}

void port_mapper::check_epoch(std::uint32_t epoch, time_point now) {
  // RFC 6886 3.6 / RFC 6887 8.5: the gateway's epoch advances with time; less than 7/8 of the
  // time since its last answer (with 2 s of slack) means it lost its mappings.
  if (epoch_) {
    auto elapsed = std::chrono::duration_cast<std::chrono::seconds>(now - epoch_->second).count();
    auto expected = static_cast<std::int64_t>(epoch_->first) + elapsed * 7 / 8;
    if (static_cast<std::int64_t>(epoch) + 2 < expected)
      events_.push_back(make_event(
          true, "gateway restarted (its epoch went back); mapping renewed", "",
          "epoch " + std::to_string(epoch) + ", expected about " + std::to_string(expected)));
  }
  epoch_ = {epoch, now};
}

void port_mapper::mapped(port_mapping m, time_point now) {
  m.obtained = now;
  m.renew_at = now + m.lease / 2;
  events_.push_back(make_event(false, renewing_ ? "port mapping renewed" : "port mapping created",
                               "", describe(m), "", to_string(m.method),
                               renewing_ ? "renewed" : "created"));
  mapping_ = m;
  phase_ = phase::mapped;
  trying_ = port_mapping_method::none;
  renewing_ = false;
  failure_said_ = false;
  lost_backoff_ = std::chrono::seconds{0};
}

std::vector<outgoing_datagram> port_mapper::removal() {
  std::vector<outgoing_datagram> out;
  if (mapping_ && gateway_) {
    if (mapping_->method == port_mapping_method::pcp)
      out.push_back({{*gateway_, gateway_port}, pcp_request(0)});
    else if (mapping_->method == port_mapping_method::natpmp)
      out.push_back({{*gateway_, gateway_port},
                     encode_natpmp_map_request(natpmp_op_map_tcp, internal_port_, 0, 0)});
  }
  mapping_.reset();
  phase_ = phase::idle;
  return out;
}

std::vector<outgoing_datagram> port_mapper::take_outgoing() {
  return std::exchange(outgoing_, {});
}

std::optional<upnp_mapping_request> port_mapper::take_upnp_request() {
  return std::exchange(upnp_request_, std::nullopt);
}

std::vector<probe_event> port_mapper::take_events() {
  return std::exchange(events_, {});
}

} // namespace qtc::nat
