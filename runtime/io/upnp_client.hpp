// A thin wrapper around libminiupnpc 2.2.4 for the NAT mapper's UPnP path: find the Internet
// Gateway Device (SSDP, then its description), ask its external address, and add, check and
// delete one TCP port mapping. It owns miniupnpc's UPNPUrls/IGDdatas and frees them.
//
// BLOCKING. Every call below waits on the network, so it is used only from a detached actor's
// own thread, never from the node's scheduler threads. How long it can wait is miniupnpc's
// choice, not ours (Debian's libminiupnpc.so.17, built with MINIUPNPC_SET_SOCKET_TIMEOUT):
//  - discover(): the SSDP wait is max(timeout_ms, 1000) ms, and a little more while answers
//    keep arriving (miniupnpc waits in whole seconds, at least one); then for each device that
//    answered, its description is fetched over HTTP as below.
//  - every HTTP request (a description or a SOAP action): connect waits up to 3 s per address
//    of the host, sends wait up to 3 s (SO_SNDTIMEO), and each read of the answer waits up to
//    5 s (poll in receivedata). A gateway that keeps trickling bytes restarts that 5 s each
//    time, so there is no overall deadline: the actor's owner must treat a silent actor as
//    stuck, not wait for it.
// miniupnpc also prints socket errors to stderr (perror); that is out of our hands.
#pragma once

#include "runtime/net/ip_address.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace qtc {

struct upnp_gateway_info {
  std::string control_url; ///< the WANIPConnection/WANPPPConnection control URL
  std::string lan_address; ///< our address as the gateway sees it (the mapping's client)
  ip_bytes external_ip{};  ///< zero if the gateway would not say
  bool connected = false;  ///< the gateway says its WAN link is up
  std::string status;      ///< one line for logs: connected or not, and the external address
};

class upnp_client {
public:
  /// `multicast_if`: the local IPv4 address (or interface name) SSDP is sent from and answers
  /// are received on; empty: the kernel's default multicast route. "127.0.0.1" keeps discovery
  /// on loopback (tests).
  explicit upnp_client(std::string multicast_if = {});
  ~upnp_client();
  upnp_client(upnp_client&&) noexcept;
  upnp_client& operator=(upnp_client&&) noexcept;
  upnp_client(const upnp_client&) = delete;
  upnp_client& operator=(const upnp_client&) = delete;

  /// SSDP discovery (timeout_ms) then UPNP_GetValidIGD; false + error (naming the step and
  /// miniupnpc's code/string) if none. Forgets any earlier gateway first.
  bool discover(int timeout_ms, std::string& error);

  /// Skips SSDP: reads the gateway's root description at `root_desc_url`
  /// (UPNP_GetIGDFromUrl), for a gateway known from an earlier run. Same outcome as discover.
  bool use_gateway_at(const std::string& root_desc_url, std::string& error);

  /// UPNP_GetExternalIPAddress; also updates gateway().external_ip. An empty or unspecified
  /// answer (a gateway whose WAN link has no address) is an error.
  std::optional<ip_bytes> external_ip(std::string& error);

  /// UPNP_AddPortMapping TCP external_port -> internal_ip:internal_port (IPv4 only: IGD maps
  /// IPv4) with lease_seconds; on error 725 (OnlyPermanentLeasesSupported) retries with lease 0
  /// and says so in `lease_granted` (0 = permanent). false + error with the UPnP error code and
  /// strupnperror text otherwise. The description is reduced to a safe subset of ASCII, at most
  /// 64 characters: miniupnpc pastes it into the SOAP XML unescaped.
  bool add_port_mapping(std::uint16_t external_port, const ip_bytes& internal_ip,
                        std::uint16_t internal_port, std::uint32_t lease_seconds,
                        const std::string& description, std::uint32_t& lease_granted,
                        std::string& error);

  /// UPNP_GetSpecificPortMappingEntry: whether the gateway still holds our mapping (a restarted
  /// router forgets it). True only if the entry exists, is enabled and points at the client
  /// (and port) we mapped, or at gateway().lan_address for a port not mapped by this object.
  /// false for error 714 (NoSuchEntryInArray); nothing + error for any other failure.
  std::optional<bool> has_port_mapping(std::uint16_t external_port, std::string& error);

  /// UPNP_DeletePortMapping. A mapping that is already gone (714) counts as deleted.
  bool delete_port_mapping(std::uint16_t external_port, std::string& error);

  const upnp_gateway_info& gateway() const;

private:
  struct state;
  std::unique_ptr<state> s_;

  bool adopt(int found, const char* lan_address, std::string& error);
  bool require_gateway(std::string& error) const;
};

} // namespace qtc
