// The NAT laboratory (nat_topology.hpp): namespaces, veth links, nftables NAT, coturn and
// miniupnpd, driven through `ip`, `nft` and the daemons' own command lines, as an operator would.
#include "support/nat_topology.hpp"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <functional>
#include <iterator>
#include <optional>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <sys/socket.h>
#include <thread>

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

namespace qtc::test {

namespace {

using namespace std::chrono_literals;

// The addresses (see the header's picture). The same in every topology: namespaces isolate them.
constexpr const char* lan_subnet = "10.0.0.0/24";
constexpr const char* lan_host = "10.0.0.2";
constexpr const char* router_lan = "10.0.0.1";
constexpr const char* router_wan = "11.0.0.1";
constexpr const char* wan_primary = "11.0.0.2";
constexpr const char* wan_alternate = "11.0.0.3";
constexpr const char* lan_if = "lan0";
constexpr const char* wan_if = "wan0";
// Namespaces are named qtcnat-<pid>-<n>-<site>: unique per process and topology, and the pid
// tells whether the test process that made them still lives.
constexpr const char* name_prefix = "qtcnat-";
// miniupnpd's nftables table and chains (set in its config; its defaults are "filter" & co).
constexpr const char* gateway_table = "miniupnpd";
constexpr const char* gateway_forward_chain = "miniupnpd";
constexpr const char* gateway_dnat_chain = "prerouting_miniupnpd";
constexpr const char* gateway_snat_chain = "postrouting_miniupnpd";

std::optional<std::string> find_tool(const std::string& name) {
  for (const char* dir : {"/usr/sbin", "/sbin", "/usr/bin", "/bin", "/usr/local/sbin"}) {
    auto path = std::filesystem::path{dir} / name;
    if (::access(path.c_str(), X_OK) == 0)
      return path.string();
  }
  return std::nullopt;
}

/// child_process execs without a PATH search: `ip` needs its full path.
const std::string& ip_tool() {
  static const std::string path = find_tool("ip").value_or("/usr/sbin/ip");
  return path;
}

run_result run_ip(const std::vector<std::string>& args) {
  return run_to_completion(ip_tool(), args);
}

void must_ip(const std::vector<std::string>& args) {
  auto r = run_ip(args);
  if (r.exit_code != 0) {
    std::string command = "ip";
    for (const auto& a : args)
      command += " " + a;
    throw std::runtime_error(command + " failed (" + std::to_string(r.exit_code)
                             + "): " + r.output);
  }
}

/// Kills whatever runs in the namespace (SIGKILL, by pid) and deletes it.
void delete_namespace(const std::string& name) {
  std::istringstream pids{run_ip({"netns", "pids", name}).output};
  for (long pid; pids >> pid;)
    if (pid > 0)
      ::kill(static_cast<pid_t>(pid), SIGKILL);
  run_ip({"netns", "delete", name});
}

/// Namespaces of ours whose test process died (killed by a timeout: no destructor ran).
void remove_stale_namespaces() {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator{"/run/netns", ec}) {
    auto name = entry.path().filename().string();
    if (name.rfind(name_prefix, 0) != 0)
      continue;
    auto pid = std::atol(name.c_str() + std::strlen(name_prefix));
    if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)
      delete_namespace(name);
  }
}

bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (done())
      return true;
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    std::this_thread::sleep_for(50ms);
  }
}

void stop_process(child_process& p) {
  p.signal(SIGTERM);
  if (!p.wait(5s)) {
    p.signal(SIGKILL);
    p.wait(5s);
  }
}

/// The rules of miniupnpd's DNAT chain as nft 1.0 prints them, e.g.
/// `iif "wan0" @nh,72,8 0x6 th dport 9300 dnat ip to 10.0.0.2:9300` (it matches the protocol
/// with a raw payload expression; other nft versions may print `meta l4proto tcp`).
std::vector<gateway_mapping> parse_dnat_rules(const std::string& listing) {
  static const std::regex rule{
      R"((?:@nh,72,8 (0x6|0x11)|(?:l4proto|ip protocol) (tcp|udp)) .*dport (\d+) .*)"
      R"(dnat (?:ip )?to ([0-9.]+):(\d+))"};
  std::vector<gateway_mapping> result;
  std::istringstream lines{listing};
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (!std::regex_search(line, m, rule))
      continue;
    gateway_mapping g;
    g.protocol = (m[1] == "0x6" || m[2] == "tcp") ? "tcp" : "udp";
    g.external_port = static_cast<std::uint16_t>(std::stoi(m[3]));
    g.internal_ip = m[4];
    g.internal_port = static_cast<std::uint16_t>(std::stoi(m[5]));
    result.push_back(g);
  }
  return result;
}

/// Endpoint-independent mapping and filtering. SNAT keeps the source port whenever it is free
/// (the kernel's default without "random"), so every destination sees the same mapping; the
/// DNAT of everything else that reaches the WAN address lets anyone answer. The DNAT runs after
/// miniupnpd's chain (priority dstnat), so the gateway's mappings win. Only the LAN's traffic
/// is translated: the router's own keeps its address.
std::string full_cone_ruleset() {
  std::ostringstream r;
  r << "table ip qtc_nat {\n"
    << "  chain prerouting {\n"
    << "    type nat hook prerouting priority dstnat + 10; policy accept;\n"
    << "    iifname \"" << wan_if << "\" ip daddr " << router_wan << " dnat to " << lan_host << "\n"
    << "  }\n"
    << "  chain postrouting {\n"
    << "    type nat hook postrouting priority srcnat + 10; policy accept;\n"
    << "    oifname \"" << wan_if << "\" ip saddr " << lan_subnet << " snat to " << router_wan
    << "\n"
    << "  }\n}\n";
  return r.str();
}

/// Address-and-port-dependent mapping and filtering. fully-random: every new flow gets a random
/// source port, whatever was used before, so each destination sees its own mapping; conntrack
/// lets only that destination answer.
std::string symmetric_ruleset() {
  std::ostringstream r;
  r << "table ip qtc_nat {\n"
    << "  chain postrouting {\n"
    << "    type nat hook postrouting priority srcnat + 10; policy accept;\n"
    << "    oifname \"" << wan_if << "\" ip saddr " << lan_subnet << " masquerade fully-random\n"
    << "  }\n}\n";
  return r.str();
}

/// coturn 4.6.1 does RFC 5780 by default, given two listening addresses (there is no
/// --rfc5780, only --no-rfc5780). -n: no config file (the package's /etc/turnserver.conf stays
/// out); --log-file stdout: not /var/log; --userdb: its SQLite file in `dir`, not
/// /var/lib/turn; one relay thread is plenty.
std::vector<std::string> turnserver_args(const std::filesystem::path& dir) {
  std::istringstream fixed{"-n --stun-only --no-cli --no-tls --no-dtls --relay-threads 1"
                           " --log-file stdout --simple-log"};
  std::vector<std::string> args{std::istream_iterator<std::string>{fixed}, {}};
  for (const char* ip : {wan_primary, wan_alternate})
    args.insert(args.end(), {"--listening-ip", ip});
  args.insert(args.end(), {"--listening-port", std::to_string(nat_topology::stun_port),
                           "--alt-listening-port", std::to_string(nat_topology::stun_alt_port)});
  args.insert(args.end(), {"--pidfile", (dir / "turnserver.pid").string(), "--userdb",
                           (dir / "turndb").string()});
  return args;
}

} // namespace

std::string to_string(nat_mode mode) {
  switch (mode) {
  case nat_mode::none:
    return "none";
  case nat_mode::full_cone:
    return "full_cone";
  case nat_mode::symmetric:
    return "symmetric";
  }
  return "?";
}

bool can_build_nat_topology() {
  return ::geteuid() == 0 && find_tool("ip") && find_tool("nft");
}

// --- building and tearing down ----------------------------------------------------------------

nat_topology::nat_topology(nat_mode mode) : mode_(mode) {
  static std::atomic<int> counter{0};
  auto prefix = name_prefix + std::to_string(::getpid()) + "-" + std::to_string(++counter);
  names_ = {prefix + "-lan", prefix + "-rtr", prefix + "-wan"};
  remove_stale_namespaces();
  try {
    build();
  } catch (...) {
    teardown(); // the destructor does not run for a constructor that throws
    throw;
  }
}

nat_topology::~nat_topology() {
  teardown();
}

void nat_topology::teardown() noexcept {
  try {
    // No goodbyes: SIGKILL, then reap (child_process's destructor would, later).
    for (auto* daemon : {miniupnpd_.get(), stun_server_.get()})
      if (daemon) {
        daemon->signal(SIGKILL);
        daemon->wait(5s);
      }
    for (const auto& name : created_)
      delete_namespace(name);
    created_.clear();
  } catch (...) {
    // A destructor must not throw; the next topology's stale sweep cannot help here (our pid
    // lives), but the names are unique, so a leftover does not disturb other tests.
  }
}

void nat_topology::build() {
  for (const auto& name : names_) {
    must_ip({"netns", "add", name});
    created_.push_back(name);
    must_ip({"-n", name, "link", "set", "lo", "up"});
  }
  link_namespaces();
  address_and_route();
  install_nat_rules();
  wait_for_carrier();
}

void nat_topology::wait_for_carrier() const {
  // A veth end reports its carrier up to a second after both ends are up (the kernel's
  // linkwatch batches such events); until then it drops what it should send, and the first
  // packets of a test would vanish.
  const std::pair<nat_site, const char*> ends[] = {{nat_site::lan, "eth0"},
                                                   {nat_site::router, lan_if},
                                                   {nat_site::router, wan_if},
                                                   {nat_site::wan, "eth0"}};
  auto up = [this](nat_site site, const char* link) {
    auto r = run_ip({"-n", ns(site), "-br", "link", "show", "dev", link});
    return r.output.find(" UP ") != std::string::npos;
  };
  for (const auto& [site, link] : ends)
    if (!wait_until([&] { return up(site, link); }, 5s))
      throw std::runtime_error(ns(site) + " " + link + " has no carrier");
}

void nat_topology::link_namespaces() {
  // Each veth is created inside its namespaces, so the fixed interface names never meet in
  // the host's namespace, where parallel topologies would collide.
  must_ip({"-n", ns(nat_site::lan), "link", "add", "eth0", "type", "veth", "peer", "name", lan_if,
           "netns", ns(nat_site::router)});
  must_ip({"-n", ns(nat_site::wan), "link", "add", "eth0", "type", "veth", "peer", "name", wan_if,
           "netns", ns(nat_site::router)});
}

void nat_topology::address_and_route() {
  auto lan = ns(nat_site::lan), router = ns(nat_site::router), wan = ns(nat_site::wan);
  must_ip({"-n", lan, "addr", "add", std::string{lan_host} + "/24", "dev", "eth0"});
  must_ip({"-n", router, "addr", "add", std::string{router_lan} + "/24", "dev", lan_if});
  must_ip({"-n", router, "addr", "add", std::string{router_wan} + "/8", "dev", wan_if});
  must_ip({"-n", wan, "addr", "add", std::string{wan_primary} + "/8", "dev", "eth0"});
  must_ip({"-n", wan, "addr", "add", std::string{wan_alternate} + "/8", "dev", "eth0"});
  must_ip({"-n", lan, "link", "set", "eth0", "up"});
  must_ip({"-n", router, "link", "set", lan_if, "up"});
  must_ip({"-n", router, "link", "set", wan_if, "up"});
  must_ip({"-n", wan, "link", "set", "eth0", "up"});
  // The default route also carries SSDP's multicast (239.255.255.250) to the router.
  must_ip({"-n", lan, "route", "add", "default", "via", router_lan});
  // No sysctl binary needed: /proc/sys/net shows the namespace of the process that opens it.
  must(nat_site::router, {"sh", "-c", "echo 1 > /proc/sys/net/ipv4/ip_forward"});
}

void nat_topology::install_nat_rules() {
  switch (mode_) {
  case nat_mode::none:
    // Plain routing: the WAN reaches the LAN host at its own address. (With NAT the WAN has no
    // route to the LAN at all: only what the NAT lets through arrives.)
    must_ip({"-n", ns(nat_site::wan), "route", "add", lan_subnet, "via", router_wan});
    return;
  case nat_mode::full_cone:
    must_nft(full_cone_ruleset());
    return;
  case nat_mode::symmetric:
    must_nft(symmetric_ruleset());
    return;
  }
}

void nat_topology::must(nat_site site, const std::vector<std::string>& command) const {
  auto r = run(site, command);
  if (r.exit_code != 0) {
    std::string text;
    for (const auto& a : command)
      text += (text.empty() ? "" : " ") + a;
    throw std::runtime_error("in " + ns(site) + ": " + text + " failed ("
                             + std::to_string(r.exit_code) + "): " + r.output);
  }
}

void nat_topology::must_nft(const std::string& ruleset) const {
  static std::atomic<int> files{0};
  auto file = dir_.write("ruleset-" + std::to_string(++files) + ".nft", ruleset);
  must(nat_site::router, {"nft", "-f", file.string()});
}

// --- accessors and running things ---------------------------------------------------------------

const std::string& nat_topology::ns(nat_site site) const {
  return names_.at(static_cast<std::size_t>(site));
}

std::string nat_topology::lan_host_ip() const {
  return lan_host;
}
std::string nat_topology::router_lan_ip() const {
  return router_lan;
}
std::string nat_topology::router_wan_ip() const {
  return router_wan;
}
std::string nat_topology::wan_ip() const {
  return wan_primary;
}
std::string nat_topology::wan_alt_ip() const {
  return wan_alternate;
}
std::string nat_topology::router_lan_interface() const {
  return lan_if;
}
std::string nat_topology::router_wan_interface() const {
  return wan_if;
}

std::string nat_topology::add_wan_address() {
  auto address = "11." + std::to_string(++extra_wan_addresses_) + ".0.1";
  must_ip({"-n", ns(nat_site::wan), "addr", "add", address + "/8", "dev", "eth0"});
  return address;
}

run_result nat_topology::run(nat_site site, const std::vector<std::string>& command,
                             std::chrono::milliseconds timeout) const {
  std::vector<std::string> args{"netns", "exec", ns(site)};
  args.insert(args.end(), command.begin(), command.end());
  return run_to_completion(ip_tool(), args, timeout);
}

std::unique_ptr<child_process> nat_topology::spawn(nat_site site, const std::string& binary,
                                                   const std::vector<std::string>& args,
                                                   const std::string& log_name) const {
  // `ip netns exec` and setpriv exec in place, so the pid is the daemon's own and signals reach
  // it. setpriv's parent-death signal kills the daemon if the test process dies unannounced
  // (a timeout's SIGKILL): no coturn or miniupnpd outlives its test.
  std::vector<std::string> argv{"netns", "exec", ns(site)};
  static const auto setpriv = find_tool("setpriv");
  if (setpriv)
    argv.insert(argv.end(), {*setpriv, "--pdeathsig", "KILL", "--"});
  argv.push_back(binary);
  argv.insert(argv.end(), args.begin(), args.end());
  return std::make_unique<child_process>(ip_tool(), argv, dir() / (log_name + ".log"));
}

int nat_topology::open_socket(nat_site site, int type) const {
  // setns changes only the calling thread's namespace: a short-lived thread enters it, and
  // the socket it creates stays in that namespace for good.
  int fd = -1, error = 0;
  auto path = "/run/netns/" + ns(site);
  std::thread{[&] {
    int nsfd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (nsfd < 0 || ::setns(nsfd, CLONE_NEWNET) != 0) {
      error = errno;
    } else if ((fd = ::socket(AF_INET, type | SOCK_CLOEXEC, 0)) < 0) {
      error = errno;
    }
    if (nsfd >= 0)
      ::close(nsfd);
  }}.join();
  if (fd < 0)
    throw std::runtime_error("socket in " + ns(site) + ": " + std::strerror(error));
  return fd;
}

// --- coturn -------------------------------------------------------------------------------------

void nat_topology::start_stun_server() {
  if (stun_server_ && stun_server_->running())
    return;
  stun_server_ = spawn(nat_site::wan, "turnserver", turnserver_args(dir()), "turnserver");
  // Ready when its four UDP sockets are bound: a request sent then waits in the socket.
  auto bound = [this] {
    auto sockets = run(nat_site::wan, {"ss", "-Hlun"}).output;
    for (const char* ip : {wan_primary, wan_alternate})
      for (auto port : {stun_port, stun_alt_port})
        if (sockets.find(std::string{ip} + ":" + std::to_string(port) + " ") == std::string::npos)
          return false;
    return true;
  };
  if (!wait_until([&] { return bound() || !stun_server_->running() || stun_server_->wait(0ms); },
                  10s)
      || !bound())
    throw std::runtime_error("coturn did not start: " + stun_server_log());
}

void nat_topology::stop_stun_server() {
  if (stun_server_)
    stop_process(*stun_server_);
}

std::string nat_topology::stun_server_log() const {
  return stun_server_ ? stun_server_->output() : std::string{};
}

// --- miniupnpd ----------------------------------------------------------------------------------

void nat_topology::install_gateway_chains() {
  if (gateway_chains_)
    return;
  // miniupnpd-nftables 2.3.1 only adds rules: the table and chains must exist. Debian's
  // /etc/miniupnpd/nft_init.sh would make them, but it sources a miniupnpd_functions.sh the
  // package does not ship. The forward policy is accept: the NAT decides what gets in.
  std::ostringstream r;
  r << "table inet " << gateway_table << " {\n"
    << "  chain forward {\n    type filter hook forward priority filter; policy accept;\n"
    << "    jump " << gateway_forward_chain << "\n  }\n"
    << "  chain " << gateway_forward_chain << " {\n  }\n"
    << "  chain prerouting {\n    type nat hook prerouting priority dstnat; policy accept;\n"
    << "    jump " << gateway_dnat_chain << "\n  }\n"
    << "  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n"
    << "    jump " << gateway_snat_chain << "\n  }\n"
    << "  chain " << gateway_dnat_chain << " {\n  }\n"
    << "  chain " << gateway_snat_chain << " {\n  }\n}\n";
  must_nft(r.str());
  gateway_chains_ = true;
}

void nat_topology::install_gateway_filter(const miniupnpd_options& options) {
  // Declare, delete, declare: the table is replaced whole, whatever the last start put there.
  // @th,64,8 is the first byte after the UDP header: the version (NAT-PMP 0, PCP 2).
  std::ostringstream r;
  r << "table inet qtc_gateway\ndelete table inet qtc_gateway\n"
    << "table inet qtc_gateway {\n"
    << "  chain input {\n    type filter hook input priority filter; policy accept;\n";
  if (!options.natpmp)
    r << "    iifname \"" << lan_if << "\" udp dport " << gateway_port << " @th,64,8 0 drop\n";
  if (!options.pcp)
    r << "    iifname \"" << lan_if << "\" udp dport " << gateway_port << " @th,64,8 2 drop\n";
  r << "  }\n}\n";
  must_nft(r.str());
}

std::string nat_topology::miniupnpd_config(const miniupnpd_options& o) const {
  auto yes_no = [](bool b) { return b ? "yes" : "no"; };
  // No lease_file: miniupnpd reloads it at start, and a rebooted gateway must forget.
  std::ostringstream c;
  c << "# miniupnpd for a NAT test (tests/support/nat_topology.cpp)\n"
    << "ext_ifname=" << wan_if << "\n"
    << "listening_ip=" << lan_if << "\n" // by name, as builds with IPv6 (Debian's) require
    << "http_port=" << o.http_port << "\n"
    << "enable_upnp=" << yes_no(o.upnp) << "\n"
    << "enable_natpmp=" << yes_no(o.natpmp || o.pcp) << "\n"
    << "min_lifetime=" << o.min_lifetime.count() << "\n"
    << "max_lifetime=" << o.max_lifetime.count() << "\n"
    << "secure_mode=" << yes_no(o.secure_mode) << "\n"
    << "ipv6_disable=yes\n"
    << "system_uptime=no\n"
    << "uuid=6b0e0f5e-5c1e-4a7e-9c55-0a7ab1e0c0de\n" // any will do: each LAN has one gateway
    << "upnp_table_name=" << gateway_table << "\n"
    << "upnp_nat_table_name=" << gateway_table << "\n"
    << "upnp_forward_chain=" << gateway_forward_chain << "\n"
    << "upnp_nat_chain=" << gateway_dnat_chain << "\n"
    << "upnp_nat_postrouting_chain=" << gateway_snat_chain << "\n"
    << "allow 1024-65535 " << lan_subnet << " 1024-65535\n"
    << "deny 0-65535 0.0.0.0/0 0-65535\n";
  return c.str();
}

void nat_topology::start_miniupnpd(const miniupnpd_options& options) {
  if (!options.upnp && !options.natpmp && !options.pcp)
    throw std::invalid_argument("miniupnpd with every protocol off does not start");
  if (miniupnpd_running())
    stop_miniupnpd();
  miniupnpd_options_ = options;
  install_gateway_chains();
  install_gateway_filter(options);
  launch_miniupnpd();
}

void nat_topology::launch_miniupnpd() {
  const auto& o = miniupnpd_options_;
  auto config = dir_.write("miniupnpd.conf", miniupnpd_config(o));
  static const auto binary = find_tool("miniupnpd").value_or("/usr/sbin/miniupnpd");
  // -d: in the foreground, logging (debug level) to stderr; -P: its pid file here, not in /run.
  miniupnpd_ = spawn(nat_site::router, binary,
                     {"-f", config.string(), "-d", "-P", (dir() / "miniupnpd.pid").string()},
                     "miniupnpd-" + std::to_string(++miniupnpd_starts_));
  // Its last words when ready: the NAT-PMP/PCP socket comes after the HTTP one.
  auto ready = (o.natpmp || o.pcp) ? "Listening for NAT-PMP/PCP traffic" : "HTTP listening on port";
  if (!miniupnpd_->wait_for_line(ready, 10s))
    throw std::runtime_error("miniupnpd did not start: " + miniupnpd_log());
}

void nat_topology::restart_miniupnpd() {
  stop_miniupnpd();
  for (const char* chain : {gateway_forward_chain, gateway_dnat_chain, gateway_snat_chain})
    must(nat_site::router, {"nft", "flush", "chain", "inet", gateway_table, chain});
  launch_miniupnpd();
}

void nat_topology::stop_miniupnpd() {
  if (miniupnpd_)
    stop_process(*miniupnpd_);
}

bool nat_topology::miniupnpd_running() const {
  return miniupnpd_ && miniupnpd_->running() && !miniupnpd_->wait(0ms);
}

std::string nat_topology::miniupnpd_log() const {
  return miniupnpd_ ? miniupnpd_->output() : std::string{};
}

std::vector<gateway_mapping> nat_topology::gateway_mappings() const {
  if (!gateway_chains_)
    return {};
  auto r =
      run(nat_site::router, {"nft", "list", "chain", "inet", gateway_table, gateway_dnat_chain});
  if (r.exit_code != 0)
    throw std::runtime_error("nft list chain failed: " + r.output);
  return parse_dnat_rules(r.output);
}

std::string nat_topology::router_ruleset() const {
  return run(nat_site::router, {"nft", "list", "ruleset"}).output;
}

} // namespace qtc::test
