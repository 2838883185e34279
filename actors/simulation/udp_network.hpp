// The simulator's UDP internet for the NAT mapper: a LAN host behind a NAT whose mapping and
// filtering behave as RFC 4787/5780 describe, and services at fixed addresses that answer
// datagrams — an RFC 5780 STUN server (primary and alternate address, CHANGE-REQUEST), a PCP
// and NAT-PMP gateway with its epoch and mapping table (a restart forgets both). The NAT mapper
// gets ports from it through nat_environment and cannot tell them from sockets. Delivery is
// immediate: what a service answers is there at the port's next poll.
#pragma once

#include "messages/nat.hpp"
#include "runtime/io/udp_port.hpp"
#include "runtime/nat/stun_message.hpp"

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <vector>

namespace qtc::sim {

using stun::endpoint;
using endpoint_key = std::pair<ip_bytes, std::uint16_t>; ///< an endpoint as a map key

/// What a service sends back: each datagram with the address it comes from.
using service_reply = std::vector<std::pair<endpoint, bytes>>;
/// A service: the sender as the service sees it (after the NAT), where it was sent, the bytes.
using udp_service =
    std::function<service_reply(const endpoint& from, const endpoint& to, const bytes& payload)>;

class udp_network : public std::enable_shared_from_this<udp_network> {
public:
  struct nat_model {
    nat_behaviour mapping = nat_behaviour::no_nat; ///< no_nat: nothing is translated
    nat_behaviour filtering = nat_behaviour::endpoint_independent;
    ip_bytes public_ip{};
  };

  explicit udp_network(nat_model nat) : nat_(nat) {}

  /// Answers datagrams sent to `at`; `on_lan`: on our side of the NAT (the gateway), reached
  /// without translation.
  void add_service(const endpoint& at, udp_service service, bool on_lan = false);
  void remove_service(const endpoint& at);

  /// A port on the LAN host `host_ip` (an ephemeral port number).
  std::unique_ptr<udp_port> open(const ip_bytes& host_ip);

  /// Datagrams services received (after the NAT), by service address.
  std::size_t received(const endpoint& at) const;

  const nat_model& nat() const {
    return nat_;
  }

private:
  class port;
  friend class port;

  void send(const endpoint& from, const endpoint& to, const bytes& payload);
  endpoint translate_out(const endpoint& from, const endpoint& to);
  bool filtered_in(const endpoint& from, std::uint16_t public_port) const;
  void deliver(const endpoint& to, const endpoint& from, bytes payload);

  nat_model nat_;
  std::map<endpoint_key, udp_service> services_;
  std::set<endpoint_key> lan_; ///< services on our side of the NAT
  std::map<endpoint_key, std::size_t> received_;
  std::map<endpoint_key, std::vector<datagram>*> inboxes_; ///< open ports, by LAN endpoint
  /// NAT state: the public port of (LAN endpoint, remote key), the LAN endpoint of a public
  /// port, and the remotes each public port has sent to.
  std::map<std::pair<endpoint_key, endpoint_key>, std::uint16_t> mappings_;
  std::map<std::uint16_t, endpoint> reverse_;
  std::map<std::uint16_t, std::set<endpoint_key>> contacted_;
  std::uint16_t next_public_port_ = 40000;
  std::uint16_t next_local_port_ = 50000;
};

/// An RFC 5780 STUN server at `primary`, with `alternate` (another IP and port) as its
/// OTHER-ADDRESS, or an RFC 5389 one without (`rfc5780` false). Register it at all four
/// addresses (see add_stun_server).
udp_service stun_server(endpoint primary, endpoint alternate, bool rfc5780);

/// Registers a STUN server at its primary, alternate and the two mixed addresses.
void add_stun_server(udp_network& net, endpoint primary, endpoint alternate, bool rfc5780 = true);

/// A gateway at `ip` answering PCP MAP (unless `pcp` is off: then it answers as a NAT-PMP-only
/// gateway does) and NAT-PMP on port 5351, granting at most `max_lifetime` seconds. Its epoch
/// counts from its last restart, on the clock `now` gives.
class gateway_model : public std::enable_shared_from_this<gateway_model> {
public:
  using clock_fn = std::function<std::chrono::steady_clock::time_point()>;

  gateway_model(ip_bytes ip, ip_bytes public_ip, bool pcp, bool natpmp, std::uint32_t max_lifetime,
                clock_fn now);

  /// The service to register at ip:5351 (it keeps this model alive; make it a shared_ptr).
  udp_service service();

  /// Forgets every mapping and starts a new epoch (a router restart).
  void restart();

  /// Mappings held (external port -> lifetime granted), and requests seen by kind.
  const std::map<std::uint16_t, std::uint32_t>& mappings() const {
    return mappings_;
  }
  std::size_t pcp_requests = 0;
  std::size_t natpmp_requests = 0;
  std::size_t deletions = 0;

private:
  service_reply on_pcp(const endpoint& from, const bytes& payload);
  service_reply on_natpmp(const endpoint& from, const bytes& payload);
  std::uint32_t epoch() const;

  ip_bytes ip_;
  ip_bytes public_ip_;
  bool pcp_;
  bool natpmp_;
  std::uint32_t max_lifetime_;
  clock_fn now_;
  std::chrono::steady_clock::time_point started_;
  std::map<std::uint16_t, std::uint32_t> mappings_;
};

} // namespace qtc::sim
