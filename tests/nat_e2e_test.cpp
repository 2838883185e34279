// The NAT mapper against real NATs and real servers (support/nat_topology: a LAN host behind a
// router namespace translating with nftables, coturn as the RFC 5780 STUN server on the WAN,
// miniupnpd as the gateway): qtcnode behind the NAT classifies it, maps its port with each of
// PCP, NAT-PMP and UPnP, renews and re-creates the mapping, removes it when it stops, and a
// qtcnode on the WAN connects in through the mapped port and syncs from it. STUN servers that
// answer garbage, another transaction, or nothing are given up in turn. Needs root (CI is).
#include "support/nat_topology.hpp"
#include "support/process.hpp"

#include <doctest/doctest.h>

#include <csignal>
#include <fstream>
#include <regex>
#include <thread>

using namespace qtc::test;
using namespace std::chrono_literals;

namespace {

const std::string qtcnode = QTCNODE_BINARY;
const std::string chaingen = QTC_CHAINGEN_BINARY;
const std::filesystem::path source_dir = QTC_SOURCE_DIR;
constexpr int chain_length = 300;

std::string read_text(const std::filesystem::path& p) {
  std::ifstream in{p, std::ios::binary};
  return {std::istreambuf_iterator<char>{in}, {}};
}

/// The chain the node behind the NAT serves: generated once per test process.
const std::filesystem::path& generated_chain() {
  static temp_dir dir;
  static bool done = false;
  if (!done) {
    auto r = run_to_completion(chaingen,
                               {"--chain-spec=" + (source_dir / "config" / "regtest.toml").string(),
                                "--blocks=" + std::to_string(chain_length), "--txs=1",
                                "--data-dir=" + dir.path().string()},
                               120s);
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
    done = true;
  }
  return dir.path();
}

bool skip_unless_root() {
  if (can_build_nat_topology())
    return false;
  MESSAGE("skipped: building network namespaces needs root, ip and nft");
  return true;
}

/// Which mapping methods the node may use, and its [nat] timing.
struct nat_settings_for_test {
  bool pcp = false;
  bool natpmp = false;
  bool upnp = false;
  int lease = 8;
  std::vector<std::string> stun_servers;
  int mapping_retry = 300;
};

/// A topology, the node behind its NAT, and (when started) a fresh node on the WAN.
struct nat_lab {
  nat_topology topo;
  temp_dir dir;
  std::unique_ptr<child_process> inside;
  std::unique_ptr<child_process> outside;

  explicit nat_lab(nat_mode mode) : topo(mode) {}

  ~nat_lab() {
    for (auto* p : {&inside, &outside})
      if (*p && (*p)->running())
        (*p)->signal(SIGKILL);
  }

  std::filesystem::path write_spec(const std::string& name, const nat_settings_for_test& s) {
    auto text = read_text(source_dir / "config" / "regtest.toml");
    text = std::regex_replace(text, std::regex{"bootstrap_nodes = \\[[^\\]]*\\]"},
                              "bootstrap_nodes = []");
    auto servers =
        s.stun_servers.empty() ? std::vector<std::string>{topo.wan_ip() + ":3478"} : s.stun_servers;
    std::string list;
    for (const auto& x : servers)
      list += (list.empty() ? "\"" : ", \"") + x + "\"";
    auto flag = [](bool b) { return b ? std::string{"true"} : std::string{"false"}; };
    text = text.substr(0, text.find("\n[nat]")) // the shipped table, replaced
           + "\n[nat]\nenabled = true\nstun_servers = [" + list + "]\npcp = " + flag(s.pcp)
           + "\nnatpmp = " + flag(s.natpmp) + "\nupnp = " + flag(s.upnp) + "\nlease_time = "
           + std::to_string(s.lease) + "\nstun_timeout_ms = 200\nstun_sends = 3\nmapping_retry = "
           + std::to_string(s.mapping_retry) + "\n";
    return dir.write(name, text);
  }

  std::vector<std::string> node_args(const std::filesystem::path& spec, const std::string& data,
                                     const std::string& host) {
    return {"--qtcnode.chain-spec=" + spec.string(),
            "--qtcnode.data-dir=" + (dir.path() / data).string(),
            "--qtcnode.p2p-host=" + host,
            "--qtcnode.p2p-port=18444",
            "--qtcnode.metrics-port=-1",
            "--qtcnode.rpc-port=0",
            "--qtcnode.dns-servers=127.0.0.1:53",
            "--qtcnode.log-level=info",
            "--scheduler.max-threads=2"};
  }

  /// Starts qtcnode in the LAN namespace, serving the generated chain.
  void start_inside(const nat_settings_for_test& s) {
    auto data = dir.path() / "inside";
    std::filesystem::create_directories(data);
    std::filesystem::copy(generated_chain() / "chain", data / "chain",
                          std::filesystem::copy_options::recursive);
    auto args = node_args(write_spec("inside.toml", s), "inside", topo.lan_host_ip());
    args.push_back("--qtcnode.outbound-full-relay=0");
    args.push_back("--qtcnode.outbound-block-relay=0");
    inside = topo.spawn(nat_site::lan, qtcnode, args, "inside");
    REQUIRE_MESSAGE(inside->wait_for_line("msg=\"chain loaded\"", 30s), inside->output());
  }

  /// Starts a fresh qtcnode on the WAN that connects only to `address` and syncs from it.
  void start_outside(const std::string& address) {
    auto spec = dir.write("outside.toml", read_text(source_dir / "config" / "regtest.toml"));
    auto args = node_args(spec, "outside", topo.wan_ip());
    args.push_back("--qtcnode.connect=" + address);
    outside = topo.spawn(nat_site::wan, qtcnode, args, "outside");
  }

  void expect_outside_synced() {
    auto done = outside->wait_for_line("msg=\"sync complete\"", 120s);
    REQUIRE_MESSAGE(done, outside->output());
    CHECK(field_value(*done, "height") == std::to_string(chain_length));
  }

  /// Waits for a line of the inside node containing `needle`.
  std::string expect_inside(const std::string& needle, std::chrono::seconds limit = 30s) {
    auto line = inside->wait_for_line(needle, limit);
    REQUIRE_MESSAGE(line, (needle + "\n" + inside->output()));
    return *line;
  }

  std::size_t count_inside(const std::string& needle) const {
    auto text = inside->output();
    std::size_t n = 0;
    for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1))
      ++n;
    return n;
  }

  /// Waits until the gateway holds (or no longer holds) the node's TCP 18444 mapping.
  bool gateway_has_mapping(bool wanted, std::chrono::seconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      bool has = false;
      for (const auto& m : topo.gateway_mappings())
        has |= m.protocol == "tcp" && m.external_port == 18444
               && m.internal_ip == topo.lan_host_ip() && m.internal_port == 18444;
      if (has == wanted)
        return true;
      std::this_thread::sleep_for(200ms);
    }
    return false;
  }
};

/// One method on a real gateway: mapped, advertised, used by a WAN node to sync, renewed,
/// re-created after the gateway restarts, and removed when the node stops.
void check_method(const std::string& method) {
  nat_lab lab{nat_mode::symmetric}; // STUN alone cannot make the node reachable here
  lab.topo.start_stun_server();
  miniupnpd_options gw;
  gw.upnp = method == "upnp";
  gw.natpmp = method == "natpmp";
  gw.pcp = method == "pcp";
  lab.topo.start_miniupnpd(gw);
  nat_settings_for_test s;
  s.pcp = gw.pcp;
  s.natpmp = gw.natpmp;
  s.upnp = gw.upnp;
  lab.start_inside(s);
  auto created = lab.expect_inside("msg=\"port mapping created\"");
  CHECK(field_value(created, "detail") == method + " 11.0.0.1:18444 lease 8 s");
  auto advertised = lab.expect_inside("msg=\"advertising external address\"");
  CHECK(field_value(advertised, "address") == "11.0.0.1:18444");
  CHECK(field_value(advertised, "source") == method);
  CHECK(lab.gateway_has_mapping(true, 5s));
  // A node on the WAN connects in through the mapped port and syncs from the node behind it.
  lab.start_outside(lab.topo.router_wan_ip() + ":18444");
  lab.expect_outside_synced();
  // Renewed before the 8 s lease ends.
  lab.expect_inside("msg=\"port mapping renewed\"", 10s);
  // The router restarts and forgets it: the next renewal maps it again.
  lab.topo.restart_miniupnpd();
  CHECK(lab.gateway_has_mapping(false, 2s));
  // (A renewal may meet the gateway while it is down: the lost mapping is tried again in 5 s.)
  CHECK_MESSAGE(lab.gateway_has_mapping(true, 20s), lab.topo.router_ruleset());
  // A clean stop removes it.
  lab.inside->signal(SIGTERM);
  REQUIRE(lab.inside->wait(30s));
  CHECK_MESSAGE(lab.count_inside("msg=\"port mapping removed\"") == 1, lab.inside->output());
  CHECK_MESSAGE(lab.gateway_has_mapping(false, 5s), lab.topo.router_ruleset());
}

/// A UDP "STUN server" in the WAN that answers badly: `garbage` (bytes that are no STUN
/// message) or `other-transaction` (a well-formed success answer to another transaction id).
std::unique_ptr<child_process> start_bad_stun(nat_lab& lab, const std::string& ip,
                                              const std::string& mode) {
  const std::string script = R"(
import socket, sys
ip, mode = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((ip, 3478))
print("listening", flush=True)
while True:
    data, peer = s.recvfrom(2048)
    if len(data) < 20:
        continue
    if mode == "garbage":
        s.sendto(b"\x01\x01\x00\x05garbage", peer)
    else:
        tid = bytes(b ^ 0xFF for b in data[8:20])
        s.sendto(b"\x01\x01\x00\x00" + data[4:8] + tid, peer)
)";
  auto p =
      lab.topo.spawn(nat_site::wan, "/usr/bin/python3", {"-c", script, ip, mode}, "stun-" + mode);
  REQUIRE_MESSAGE(p->wait_for_line("listening", 10s), p->output());
  return p;
}

} // namespace

TEST_SUITE("nat") {

  TEST_CASE("nat: an endpoint-independent NAT, a symmetric one and none are told apart") {
    if (skip_unless_root())
      return;
    struct row {
      nat_mode mode;
      const char* behaviour; ///< mapping and filtering in the "NAT behaviour found" line
      const char* advertised;
    };
    for (auto r :
         {row{nat_mode::full_cone, "mapping endpoint-independent, filtering endpoint-independent",
              "11.0.0.1:18444"},
          row{nat_mode::symmetric,
              "mapping address-and-port-dependent, filtering address-and-port-dependent", ""},
          row{nat_mode::none, "mapping no-nat, filtering no-nat", "10.0.0.2:18444"}}) {
      CAPTURE(to_string(r.mode));
      nat_lab lab{r.mode};
      lab.topo.start_stun_server();
      lab.start_inside({});
      auto found = lab.expect_inside("msg=\"NAT behaviour found\"");
      CHECK(field_value(found, "detail").value_or("").find(r.behaviour) != std::string::npos);
      if (*r.advertised == 0) {
        lab.expect_inside("msg=\"not reachable from outside; not advertising this node\"");
        continue;
      }
      auto line = lab.expect_inside("msg=\"advertising external address\"");
      CHECK(field_value(line, "address") == r.advertised);
      if (r.mode == nat_mode::full_cone) {
        // The listening port behind a full cone is reachable: a WAN node syncs through it.
        lab.start_outside(r.advertised);
        lab.expect_outside_synced();
      }
    }
  }

  TEST_CASE("nat: PCP maps the port on a real gateway, renews it, re-creates it, removes it") {
    if (!skip_unless_root())
      check_method("pcp");
  }

  TEST_CASE("nat: NAT-PMP maps the port on a real gateway, renews it, re-creates it, removes "
            "it") {
    if (!skip_unless_root())
      check_method("natpmp");
  }

  TEST_CASE("nat: UPnP maps the port on a real gateway, renews it, re-creates it, removes it") {
    if (!skip_unless_root())
      check_method("upnp");
  }

  TEST_CASE("nat: without any gateway the node relies on STUN alone and says so once") {
    if (skip_unless_root())
      return;
    nat_lab lab{nat_mode::symmetric};
    lab.topo.start_stun_server();
    nat_settings_for_test s;
    s.pcp = s.natpmp = s.upnp = true;
    s.mapping_retry = 5;
    lab.start_inside(s);
    lab.expect_inside("msg=\"no gateway mapped the P2P port; relying on STUN alone\"");
    lab.expect_inside("msg=\"NAT behaviour found\"");
    // Two more rounds of PCP, NAT-PMP and UPnP fail without saying it again.
    std::this_thread::sleep_for(15s);
    CHECK(lab.count_inside("msg=\"no gateway mapped the P2P port") == 1);
    CHECK(lab.count_inside("msg=\"upnp did not map the port\"") >= 2);
    CHECK(lab.inside->running());
  }

  TEST_CASE("nat: STUN servers that answer garbage, another transaction or nothing are given up "
            "in turn") {
    if (skip_unless_root())
      return;
    nat_lab lab{nat_mode::full_cone};
    lab.topo.start_stun_server();
    auto silent = lab.topo.add_wan_address();
    auto garbage_ip = lab.topo.add_wan_address();
    auto other_ip = lab.topo.add_wan_address();
    auto garbage = start_bad_stun(lab, garbage_ip, "garbage");
    auto other = start_bad_stun(lab, other_ip, "other-transaction");
    nat_settings_for_test s;
    s.stun_servers = {silent + ":3478", garbage_ip + ":3478", other_ip + ":3478",
                      lab.topo.wan_ip() + ":3478"};
    lab.start_inside(s);
    auto l1 = lab.expect_inside("msg=\"STUN server did not answer\"");
    CHECK(field_value(l1, "server") == silent + ":3478");
    auto l2 = lab.expect_inside("msg=\"STUN server sent an unreadable answer\"");
    CHECK(field_value(l2, "server") == garbage_ip + ":3478");
    auto l3 = lab.expect_inside("msg=\"STUN server answered another transaction\"");
    CHECK(field_value(l3, "server") == other_ip + ":3478");
    auto found = lab.expect_inside("msg=\"NAT behaviour found\"");
    CHECK(field_value(found, "server") == lab.topo.wan_ip() + ":3478");
    CHECK(lab.inside->running());
  }
}
