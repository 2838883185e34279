// A NAT laboratory in network namespaces, for the NAT traversal tests: a LAN host behind a router
// that translates like a chosen kind of NAT, and a "WAN" holding the real servers the node meets
// on the internet (coturn as an RFC 5780 STUN server, public peers), with miniupnpd on the router
// as the gateway (UPnP IGD, NAT-PMP, PCP). The node's NAT code is then tested against real
// kernels' translation and real daemons, not against our own reading of the RFCs.
//
//   LAN namespace          ROUTER namespace                  WAN namespace
//   eth0 10.0.0.2/24 ---- lan0 10.0.0.1/24 | wan0 11.0.0.1/8 ---- eth0 11.0.0.2/8, 11.0.0.3/8
//   default via 10.0.0.1   ip_forward, nftables NAT, miniupnpd       (STUN), 11.N.0.1/8 (peers)
//
// The WAN is 11.0.0.0/8, a public-looking range, on purpose: miniupnpd 2.3 refuses port
// forwarding when its external interface has a reserved address (RFC 1918, CGNAT, the
// documentation and benchmarking ranges: "Port forwarding is impossible") and refuses such an
// ext_ip. Its way around that (ext_perform_stun) needs the STUN server up first and fails behind
// the full-cone DNAT, which steals the CHANGE-REQUEST answers. The namespaces have no link to
// the host's network, so these addresses never leave them. Extra WAN addresses are 11.N.0.1:
// each in its own /16, so the node's one-outbound-peer-per-/16 rule does not refuse them.
//
// Needs root (ip netns, nft). Every topology has its own namespaces (named after the process
// and a counter), so tests run in parallel; the destructor kills whatever runs in them and
// deletes them, and a new topology first deletes those left by a test process that died.
#pragma once

#include "support/process.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace qtc::test {

/// How the router translates the LAN host's connections.
enum class nat_mode {
  /// Routing only: the WAN sees the LAN host's own address (and routes back to it).
  none,
  /// Endpoint-independent mapping and filtering: source NAT keeping the port, and everything
  /// sent to the router's WAN address goes on to the LAN host.
  full_cone,
  /// Address-and-port-dependent mapping and filtering: every new flow gets a random port, and
  /// only its own destination can answer.
  symmetric,
};

/// "none", "full_cone", "symmetric".
std::string to_string(nat_mode mode);

/// The three namespaces.
enum class nat_site { lan, router, wan };

/// How miniupnpd runs on the router.
struct miniupnpd_options {
  bool upnp = true; ///< UPnP IGD (SSDP on the LAN, SOAP on http_port)
  /// NAT-PMP and PCP share miniupnpd's one switch (enable_natpmp) and UDP port 5351; the one
  /// switched off here is dropped by an nft rule in the router, version byte 0 (NAT-PMP) or 2
  /// (PCP): the gateway then never answers it, like one that lacks the protocol entirely.
  bool natpmp = true;
  bool pcp = true;
  /// PCP raises shorter lifetimes to this (miniupnpd caps the setting at 120 s). NAT-PMP and
  /// UPnP leases are used as asked, however short.
  std::chrono::seconds min_lifetime{2};
  std::chrono::seconds max_lifetime{3600}; ///< PCP lowers longer lifetimes to this
  bool secure_mode = true;                 ///< UPnP clients may map only to their own address
  std::uint16_t http_port = 5555;          ///< the UPnP description and control URLs
};

/// One port forwarding rule miniupnpd has installed on the router (whichever protocol asked).
struct gateway_mapping {
  std::string protocol; ///< "tcp" or "udp"
  std::uint16_t external_port = 0;
  std::string internal_ip;
  std::uint16_t internal_port = 0;
  friend bool operator==(const gateway_mapping&, const gateway_mapping&) = default;
};

/// Whether this process can build topologies (it must be root); tests skip otherwise.
bool can_build_nat_topology();

class nat_topology {
public:
  static constexpr std::uint16_t stun_port = 3478;     ///< coturn's primary port
  static constexpr std::uint16_t stun_alt_port = 3479; ///< its CHANGE-REQUEST port
  static constexpr std::uint16_t gateway_port = 5351;  ///< PCP and NAT-PMP on the router

  /// Builds the namespaces, links, addresses, routes and the router's NAT rules. Throws
  /// std::runtime_error (with the failing command's output) when a step fails.
  explicit nat_topology(nat_mode mode);
  ~nat_topology();
  nat_topology(const nat_topology&) = delete;
  nat_topology& operator=(const nat_topology&) = delete;

  nat_mode mode() const {
    return mode_;
  }
  /// The namespace's name, for `ip netns exec`.
  const std::string& ns(nat_site site) const;
  /// A directory for this topology's configs and logs, removed with it.
  const std::filesystem::path& dir() const {
    return dir_.path();
  }

  std::string lan_host_ip() const;          ///< "10.0.0.2": the node's host
  std::string router_lan_ip() const;        ///< "10.0.0.1": the LAN's gateway (PCP, NAT-PMP, UPnP)
  std::string router_wan_ip() const;        ///< "11.0.0.1": the address the NAT maps to
  std::string wan_ip() const;               ///< "11.0.0.2": STUN's primary address, a public host
  std::string wan_alt_ip() const;           ///< "11.0.0.3": STUN's alternate address
  std::string router_lan_interface() const; ///< "lan0"
  std::string router_wan_interface() const; ///< "wan0"
  /// Adds another address to the WAN namespace (11.1.0.1, 11.2.0.1, ...) for a public peer.
  std::string add_wan_address();

  /// Runs a command (argv[0] found on PATH) in a namespace to completion.
  run_result run(nat_site site, const std::vector<std::string>& command,
                 std::chrono::milliseconds timeout = std::chrono::seconds{20}) const;
  /// Starts a long-running `binary` (found on PATH, or a path) in a namespace; its output goes
  /// to dir()/<log_name>.log. It is killed if the test process dies, and when the topology ends.
  std::unique_ptr<child_process> spawn(nat_site site, const std::string& binary,
                                       const std::vector<std::string>& args,
                                       const std::string& log_name) const;
  /// A socket (AF_INET, `type` SOCK_STREAM or SOCK_DGRAM, close-on-exec) that lives in the
  /// namespace: bind, connect and send on it from the test as usual. Throws on failure.
  int open_socket(nat_site site, int type) const;

  /// coturn, STUN only, on wan_ip() and wan_alt_ip(), ports 3478 and 3479: Binding answers
  /// carry XOR-MAPPED-ADDRESS and OTHER-ADDRESS and honour CHANGE-REQUEST. Ask wan_ip():3478:
  /// coturn 4.6.1 names the wrong OTHER-ADDRESS (wan_alt_ip() itself) on wan_alt_ip().
  /// Returns once its four UDP sockets are bound.
  void start_stun_server();
  void stop_stun_server();
  std::string stun_server_log() const;

  /// miniupnpd on the router (external wan0, LAN lan0), mapping to the LAN host. Returns once
  /// it listens. Creates the nftables chains it fills on first use.
  void start_miniupnpd(const miniupnpd_options& options = {});
  /// A gateway reboot: stops miniupnpd, drops every rule it installed (which outlive the
  /// daemon: a plain restart would find and keep them), and starts it again with the same
  /// options. It then knows no mapping and its epoch starts again from 0.
  void restart_miniupnpd();
  /// Stops the daemon (SIGTERM); the rules it installed stay, as on a real router.
  void stop_miniupnpd();
  bool miniupnpd_running() const;
  std::string miniupnpd_log() const;
  /// The port forwardings installed now (read from the router's nftables, the ground truth).
  std::vector<gateway_mapping> gateway_mappings() const;
  /// `nft list ruleset` in the router, for failure messages.
  std::string router_ruleset() const;

private:
  void build();
  void link_namespaces();
  void address_and_route();
  void install_nat_rules();
  void wait_for_carrier() const;
  void install_gateway_chains();
  void install_gateway_filter(const miniupnpd_options& options);
  std::string miniupnpd_config(const miniupnpd_options& options) const;
  void launch_miniupnpd();
  void teardown() noexcept;
  /// Runs `command` in `site`; throws with its output when it fails.
  void must(nat_site site, const std::vector<std::string>& command) const;
  void must_nft(const std::string& ruleset) const;

  nat_mode mode_;
  temp_dir dir_;
  std::array<std::string, 3> names_; ///< by nat_site
  std::vector<std::string> created_; ///< the namespaces created so far, for the teardown
  int extra_wan_addresses_ = 0;
  std::unique_ptr<child_process> stun_server_;
  std::unique_ptr<child_process> miniupnpd_;
  miniupnpd_options miniupnpd_options_;
  int miniupnpd_starts_ = 0;
  bool gateway_chains_ = false;
};

} // namespace qtc::test
