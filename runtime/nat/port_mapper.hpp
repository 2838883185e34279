// Maps the node's P2P port on the gateway, as a pure state machine: PCP (RFC 6887) first, then
// NAT-PMP (RFC 6886), as Bitcoin Core v29 does, then UPnP IGD (which blocks in miniupnpc, so it
// is a request the actor hands to its UPnP worker and an answer it feeds back). Each method can
// be switched off. The mapping is renewed at half its lease with the method that made it (PCP
// with the same nonce, as RFC 6887 asks), which also re-creates it on a gateway that forgot it (a
// router restart); a renewal that fails goes on to the next methods. When every method failed,
// it says so once and tries again from the first after `retry_after` — or, when a mapping was
// just lost (a gateway restarting), after 5 s, doubling each round up to `retry_after`.
//
// The gateway's epoch (seconds since its mappings were last lost) is checked on every PCP and
// NAT-PMP answer: one that went back says the gateway restarted, which the answer itself has
// already repaired (it carries our renewed mapping).
#pragma once

#include "messages/nat.hpp"
#include "runtime/nat/nat_probe.hpp"
#include "runtime/nat/pcp_message.hpp"
#include "runtime/nat/retransmission.hpp"

#include <chrono>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace qtc::nat {

struct port_mapping_config {
  bool pcp = true;
  bool natpmp = true;
  bool upnp = true;
  std::chrono::seconds lease{1200}; ///< lifetime asked for (Core asks for 20 minutes)
  /// PCP and NAT-PMP requests: 250 ms, doubling, 4 sends, then 2 s: given up after 3.75 s (the
  /// RFCs' full schedules wait a minute for a gateway that is most often simply absent).
  retransmission_timing timing{std::chrono::milliseconds{250}, 4, 8};
  std::chrono::seconds retry_after{300}; ///< after every method failed
};

/// A mapping the gateway granted.
struct port_mapping {
  port_mapping_method method = port_mapping_method::none;
  ip_bytes external_ip{}; ///< zero if the method did not say (then STUN's address is used)
  std::uint16_t external_port = 0;
  std::chrono::seconds lease{0}; ///< 0: permanent (UPnP gateways that refuse leases)
  std::chrono::steady_clock::time_point obtained{};
  std::chrono::steady_clock::time_point renew_at{};
};

class port_mapper {
public:
  using time_point = std::chrono::steady_clock::time_point;
  using nonce_source = std::function<pcp_nonce()>;

  /// `gateway`: where PCP and NAT-PMP go (none: they are skipped); `local_ip`: our address
  /// toward it (PCP's client address); `internal_port`: the P2P listening port.
  port_mapper(port_mapping_config config, std::optional<ip_bytes> gateway, ip_bytes local_ip,
              std::uint16_t internal_port, nonce_source new_nonce);

  void start(time_point now);
  void on_datagram(const stun::endpoint& from, std::span<const std::uint8_t> payload,
                   time_point now);
  void on_upnp_result(const upnp_mapping_result& r, time_point now);
  void on_time(time_point now);

  std::vector<outgoing_datagram> take_outgoing();
  /// A UPnP mapping to ask the worker for (at most one at a time).
  std::optional<upnp_mapping_request> take_upnp_request();
  std::vector<probe_event> take_events();
  std::optional<time_point> next_wakeup() const;

  const std::optional<port_mapping>& mapping() const {
    return mapping_;
  }
  /// The method being tried now (none while mapped and idle, or waiting to retry).
  port_mapping_method trying() const {
    return trying_;
  }
  /// Every enabled method failed in the last round.
  bool failed() const {
    return phase_ == phase::waiting_retry;
  }

  /// The datagrams that remove a PCP or NAT-PMP mapping (lifetime 0), for a clean shutdown;
  /// forgets the mapping. A UPnP mapping is removed by the worker.
  std::vector<outgoing_datagram> removal();

private:
  enum class phase { idle, pcp, natpmp_address, natpmp_map, upnp, mapped, waiting_retry };

  void try_method(port_mapping_method m, time_point now);
  void try_next(port_mapping_method after, const std::string& why, time_point now);
  void send_request(phase p, bytes request, time_point now);
  void on_pcp(std::span<const std::uint8_t> payload, time_point now);
  void on_natpmp(std::span<const std::uint8_t> payload, time_point now);
  void check_epoch(std::uint32_t epoch, time_point now);
  void mapped(port_mapping m, time_point now);
  bool enabled(port_mapping_method m) const;
  bytes pcp_request(std::uint32_t lifetime) const;

  port_mapping_config config_;
  std::optional<ip_bytes> gateway_;
  ip_bytes local_ip_{};
  std::uint16_t internal_port_ = 0;
  nonce_source new_nonce_;
  pcp_nonce nonce_{};
  phase phase_ = phase::idle;
  port_mapping_method trying_ = port_mapping_method::none;
  bool renewing_ = false;
  bytes request_;
  retransmission schedule_;
  ip_bytes natpmp_external_{};
  std::optional<std::pair<std::uint32_t, time_point>> epoch_; ///< last epoch seen, and when
  std::optional<port_mapping> mapping_;
  std::optional<upnp_mapping_request> upnp_request_;
  time_point retry_at_{};
  std::chrono::seconds lost_backoff_{0}; ///< the wait after a lost mapping (0: none lost)
  bool failure_said_ = false;
  std::vector<outgoing_datagram> outgoing_;
  std::vector<probe_event> events_;
};

} // namespace qtc::nat
