// The NAT laboratory itself (support/nat_topology.hpp), proved before the node's NAT tests rely
// on it: each NAT mode translates and filters as RFC 4787 names it, coturn answers RFC 5780
// Binding requests, and miniupnpd answers NAT-PMP, PCP and SSDP from the LAN and forwards what
// it maps. The STUN, NAT-PMP and PCP messages are built and read inline here, byte by byte:
// these tests check the servers, not the node's codecs. They need root (CI runs as root).
#include "support/nat_topology.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <arpa/inet.h>
#include <array>
#include <netinet/in.h>
#include <optional>
#include <ostream>
#include <random>
#include <sys/socket.h>
#include <thread>

#include <poll.h>
#include <unistd.h>

using namespace qtc::test;
using namespace std::chrono_literals;

namespace {

using bytes = std::vector<std::uint8_t>;

struct endpoint {
  std::string ip;
  std::uint16_t port = 0;
  friend bool operator==(const endpoint&, const endpoint&) = default;
};

std::ostream& operator<<(std::ostream& os, const endpoint& e) {
  return os << e.ip << ":" << e.port;
}

/// Skips (with a message) where namespaces cannot be made: not root.
bool skip_unless_root() {
  if (can_build_nat_topology())
    return false;
  MESSAGE("skipped: building network namespaces needs root, ip and nft");
  return true;
}

/// Closes the socket at the end of the scope.
struct socket_fd {
  int fd;
  explicit socket_fd(int f) : fd(f) {}
  ~socket_fd() {
    if (fd >= 0)
      ::close(fd);
  }
  socket_fd(const socket_fd&) = delete;
  socket_fd& operator=(const socket_fd&) = delete;
};

sockaddr_in to_sockaddr(const endpoint& e) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(e.port);
  ::inet_pton(AF_INET, e.ip.c_str(), &a.sin_addr);
  return a;
}

endpoint from_sockaddr(const sockaddr_in& a) {
  char text[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, &a.sin_addr, text, sizeof(text));
  return {text, ntohs(a.sin_port)};
}

/// Binds with SO_REUSEADDR, so that two sockets can leave from the same port.
void bind_to(int fd, const endpoint& e) {
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  auto a = to_sockaddr(e);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
}

bool connect_to(int fd, const endpoint& e) {
  auto a = to_sockaddr(e);
  return ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
}

bool readable_within(int fd, std::chrono::milliseconds timeout) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(timeout.count())) == 1;
}

/// A TCP listener in `site` on `at`.
int listen_in(const nat_topology& t, nat_site site, const endpoint& at) {
  int fd = t.open_socket(site, SOCK_STREAM);
  bind_to(fd, at);
  REQUIRE(::listen(fd, 8) == 0);
  return fd;
}

/// The peer address of the next connection the listener accepts, if one comes in time.
std::optional<endpoint> accept_peer(int listener, std::chrono::milliseconds timeout) {
  if (!readable_within(listener, timeout))
    return std::nullopt;
  sockaddr_in a{};
  socklen_t len = sizeof(a);
  int fd = ::accept(listener, reinterpret_cast<sockaddr*>(&a), &len);
  if (fd < 0)
    return std::nullopt;
  ::close(fd);
  return from_sockaddr(a);
}

/// Connects from the LAN host's port `local_port` to a WAN listener at `destination`: the
/// source address and port the WAN end sees.
endpoint seen_at_wan(const nat_topology& t, std::uint16_t local_port, const endpoint& destination) {
  socket_fd listener{listen_in(t, nat_site::wan, destination)};
  socket_fd client{t.open_socket(nat_site::lan, SOCK_STREAM)};
  bind_to(client.fd, {"0.0.0.0", local_port});
  REQUIRE(connect_to(client.fd, destination));
  auto peer = accept_peer(listener.fd, 5s);
  REQUIRE(peer);
  return *peer;
}

/// Connects from `from` (a WAN address) to `to`: whether a LAN listener on `lan_port` accepts
/// it, and as whom.
std::optional<endpoint> reaches_lan(const nat_topology& t, const std::string& from,
                                    const endpoint& to, std::uint16_t lan_port) {
  socket_fd listener{listen_in(t, nat_site::lan, {"0.0.0.0", lan_port})};
  socket_fd client{t.open_socket(nat_site::wan, SOCK_STREAM)};
  bind_to(client.fd, {from, 0});
  if (!connect_to(client.fd, to))
    return std::nullopt;
  return accept_peer(listener.fd, 3s);
}

// --- UDP request/answer -------------------------------------------------------------------------

/// Sends `request` to `to` up to `tries` times, 500 ms apart, until a datagram comes back (from
/// anywhere: CHANGE-REQUEST answers come from another address). The datagram and its sender.
std::optional<std::pair<bytes, endpoint>> exchange(int fd, const bytes& request, const endpoint& to,
                                                   int tries = 3) {
  auto a = to_sockaddr(to);
  for (int i = 0; i < tries; ++i) {
    REQUIRE(
        ::sendto(fd, request.data(), request.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof(a))
        == static_cast<ssize_t>(request.size()));
    if (!readable_within(fd, 500ms))
      continue;
    bytes answer(1500);
    sockaddr_in from{};
    socklen_t len = sizeof(from);
    auto n =
        ::recvfrom(fd, answer.data(), answer.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
    REQUIRE(n >= 0);
    answer.resize(static_cast<std::size_t>(n));
    return std::pair{answer, from_sockaddr(from)};
  }
  return std::nullopt;
}

std::uint16_t get16(const bytes& b, std::size_t at) {
  return static_cast<std::uint16_t>(b.at(at) << 8 | b.at(at + 1));
}

std::uint32_t get32(const bytes& b, std::size_t at) {
  return static_cast<std::uint32_t>(get16(b, at)) << 16 | get16(b, at + 2);
}

void put16(bytes& b, std::uint16_t v) {
  b.push_back(static_cast<std::uint8_t>(v >> 8));
  b.push_back(static_cast<std::uint8_t>(v));
}

void put32(bytes& b, std::uint32_t v) {
  put16(b, static_cast<std::uint16_t>(v >> 16));
  put16(b, static_cast<std::uint16_t>(v));
}

std::string ipv4_at(const bytes& b, std::size_t at) {
  return std::to_string(b.at(at)) + "." + std::to_string(b.at(at + 1)) + "."
         + std::to_string(b.at(at + 2)) + "." + std::to_string(b.at(at + 3));
}

// --- STUN (RFC 5389 Binding, RFC 5780 CHANGE-REQUEST and OTHER-ADDRESS) -------------------------

constexpr std::uint32_t magic_cookie = 0x2112A442;
constexpr std::uint32_t change_ip = 0x4, change_port = 0x2;

struct stun_answer {
  endpoint from;                 ///< where the answer came from
  endpoint mapped;               ///< XOR-MAPPED-ADDRESS: us, as the server saw us
  std::optional<endpoint> other; ///< OTHER-ADDRESS
};

bytes binding_request(const std::array<std::uint8_t, 12>& transaction, std::uint32_t change) {
  bytes b;
  put16(b, 0x0001); // Binding request
  put16(b, change ? 8 : 0);
  put32(b, magic_cookie);
  b.insert(b.end(), transaction.begin(), transaction.end());
  if (change) {
    put16(b, 0x0003); // CHANGE-REQUEST
    put16(b, 4);
    put32(b, change);
  }
  return b;
}

/// An IPv4 (XOR-)MAPPED-ADDRESS-style value: reserved, family, port, address.
endpoint address_value(const bytes& b, std::size_t at, bool xored) {
  auto port = get16(b, at + 2);
  auto ip = get32(b, at + 4);
  if (xored) {
    port ^= static_cast<std::uint16_t>(magic_cookie >> 16);
    ip ^= magic_cookie;
  }
  bytes raw;
  put32(raw, ip);
  return {ipv4_at(raw, 0), port};
}

std::optional<stun_answer> parse_binding_answer(const bytes& b,
                                                const std::array<std::uint8_t, 12>& transaction,
                                                const endpoint& from) {
  if (b.size() < 20 || get16(b, 0) != 0x0101 || get32(b, 4) != magic_cookie
      || !std::equal(transaction.begin(), transaction.end(), b.begin() + 8))
    return std::nullopt;
  stun_answer a{from, {}, {}};
  for (std::size_t at = 20; at + 4 <= b.size();) {
    auto type = get16(b, at), length = get16(b, at + 2);
    if (type == 0x0020 && b.at(at + 5) == 0x01)
      a.mapped = address_value(b, at + 4, true);
    if (type == 0x802C && b.at(at + 5) == 0x01)
      a.other = address_value(b, at + 4, false);
    at += 4 + (length + 3u) / 4 * 4; // attributes are padded to 4 bytes
  }
  return a;
}

/// A Binding request (with CHANGE-REQUEST flags, if any) from `fd` to `server`.
std::optional<stun_answer> stun_binding(int fd, const endpoint& server, std::uint32_t change = 0,
                                        int tries = 3) {
  static std::mt19937 random{std::random_device{}()};
  std::array<std::uint8_t, 12> transaction{};
  for (auto& x : transaction)
    x = static_cast<std::uint8_t>(random());
  auto answer = exchange(fd, binding_request(transaction, change), server, tries);
  if (!answer)
    return std::nullopt;
  return parse_binding_answer(answer->first, transaction, answer->second);
}

/// A UDP socket on the LAN host, bound to `port`.
int lan_udp(const nat_topology& t, std::uint16_t port) {
  int fd = t.open_socket(nat_site::lan, SOCK_DGRAM);
  bind_to(fd, {"0.0.0.0", port});
  return fd;
}

// --- NAT-PMP (RFC 6886) and PCP (RFC 6887) ------------------------------------------------------

struct natpmp_answer {
  std::uint8_t opcode = 0;
  std::uint16_t result = 0xffff;
  std::uint32_t epoch = 0;
  std::string external_ip;                            ///< opcode 128
  std::uint16_t internal_port = 0, external_port = 0; ///< opcodes 129, 130
  std::uint32_t lifetime = 0;
};

std::optional<natpmp_answer> natpmp(int fd, const nat_topology& t, const bytes& request) {
  auto answer = exchange(fd, request, {t.router_lan_ip(), nat_topology::gateway_port});
  if (!answer || answer->first.size() < 8 || answer->first[0] != 0)
    return std::nullopt;
  const auto& b = answer->first;
  natpmp_answer a;
  a.opcode = b[1];
  a.result = get16(b, 2);
  a.epoch = get32(b, 4);
  if (a.opcode == 128 && b.size() >= 12)
    a.external_ip = ipv4_at(b, 8);
  if (a.opcode > 128 && b.size() >= 16) {
    a.internal_port = get16(b, 8);
    a.external_port = get16(b, 10);
    a.lifetime = get32(b, 12);
  }
  return a;
}

std::optional<natpmp_answer> natpmp_external_address(int fd, const nat_topology& t) {
  return natpmp(fd, t, {0, 0});
}

std::optional<natpmp_answer> natpmp_map_tcp(int fd, const nat_topology& t, std::uint16_t port,
                                            std::uint32_t lifetime) {
  bytes request{0, 2, 0, 0}; // version 0, opcode 2 (TCP), reserved
  put16(request, port);      // internal
  put16(request, port);      // suggested external
  put32(request, lifetime);
  return natpmp(fd, t, request);
}

struct pcp_answer {
  std::uint8_t result = 0xff;
  std::uint32_t lifetime = 0, epoch = 0;
  std::uint16_t internal_port = 0, external_port = 0;
  std::string external_ip;
};

/// An IPv4 address as PCP carries it: ::ffff:a.b.c.d.
void put_mapped_ipv4(bytes& b, const std::string& ip) {
  b.insert(b.end(), 10, 0);
  b.insert(b.end(), {0xff, 0xff});
  in_addr a{};
  ::inet_pton(AF_INET, ip.c_str(), &a);
  auto* p = reinterpret_cast<const std::uint8_t*>(&a.s_addr);
  b.insert(b.end(), p, p + 4);
}

/// A PCP MAP request for TCP `port` from the LAN host; no answer within `tries` sends: nullopt.
std::optional<pcp_answer> pcp_map_tcp(int fd, const nat_topology& t, std::uint16_t port,
                                      std::uint32_t lifetime, int tries = 3) {
  bytes r{2, 1, 0, 0}; // version 2, request MAP, reserved
  put32(r, lifetime);
  put_mapped_ipv4(r, t.lan_host_ip());
  r.insert(r.end(), 12, 0x5a);     // mapping nonce
  r.insert(r.end(), {6, 0, 0, 0}); // TCP, reserved
  put16(r, port);                  // internal
  put16(r, port);                  // suggested external
  put_mapped_ipv4(r, "0.0.0.0");   // suggested external address: any
  auto answer = exchange(fd, r, {t.router_lan_ip(), nat_topology::gateway_port}, tries);
  if (!answer || answer->first.size() < 60 || answer->first[1] != 0x81)
    return std::nullopt;
  const auto& b = answer->first;
  return pcp_answer{b[3], get32(b, 4), get32(b, 8), get16(b, 40), get16(b, 42), ipv4_at(b, 56)};
}

bool has_tcp_mapping(const nat_topology& t, std::uint16_t port) {
  for (const auto& m : t.gateway_mappings())
    if (m.protocol == "tcp" && m.external_port == port)
      return true;
  return false;
}

} // namespace

TEST_SUITE_BEGIN("nat");

// --- the NAT modes ------------------------------------------------------------------------------

TEST_CASE("nat topology: without NAT the WAN sees the LAN host's own address") {
  if (skip_unless_root())
    return;
  nat_topology t{nat_mode::none};
  CHECK(seen_at_wan(t, 40001, {t.wan_ip(), 7000}) == endpoint{t.lan_host_ip(), 40001});
  // And the WAN can reach the LAN host directly.
  CHECK(reaches_lan(t, t.wan_ip(), {t.lan_host_ip(), 8333}, 8333));
}

TEST_CASE("nat topology: a full-cone NAT keeps the port for every destination and lets anyone in") {
  if (skip_unless_root())
    return;
  nat_topology t{nat_mode::full_cone};
  auto first = seen_at_wan(t, 40001, {t.wan_ip(), 7000});
  auto second = seen_at_wan(t, 40001, {t.wan_alt_ip(), 7001});
  CHECK(first == endpoint{t.router_wan_ip(), 40001});
  CHECK(second == first);
  // Unsolicited, from an address the LAN never talked to, to a port it never used outbound.
  auto stranger = t.add_wan_address();
  auto in = reaches_lan(t, stranger, {t.router_wan_ip(), 8333}, 8333);
  REQUIRE(in);
  CHECK(in->ip == stranger);
}

TEST_CASE(
    "nat topology: a symmetric NAT maps each destination to its own port and lets no one in") {
  if (skip_unless_root())
    return;
  nat_topology t{nat_mode::symmetric};
  auto first = seen_at_wan(t, 40001, {t.wan_ip(), 7000});
  auto second = seen_at_wan(t, 40001, {t.wan_alt_ip(), 7001});
  CHECK(first.ip == t.router_wan_ip());
  CHECK(second.ip == t.router_wan_ip());
  CHECK(first.port != second.port);
  CHECK_FALSE(reaches_lan(t, t.wan_ip(), {t.router_wan_ip(), 8333}, 8333));
}

// --- coturn -------------------------------------------------------------------------------------

TEST_CASE("nat topology: coturn answers Binding requests as RFC 5780 asks, through a full cone") {
  if (skip_unless_root())
    return;
  nat_topology t{nat_mode::full_cone};
  t.start_stun_server();
  socket_fd udp{lan_udp(t, 41000)};
  const endpoint primary{t.wan_ip(), nat_topology::stun_port};
  const endpoint alternate{t.wan_alt_ip(), nat_topology::stun_alt_port};

  auto plain = stun_binding(udp.fd, primary);
  REQUIRE_MESSAGE(plain, t.stun_server_log());
  CHECK(plain->from == primary);
  CHECK(plain->mapped == endpoint{t.router_wan_ip(), 41000});
  CHECK(plain->other == alternate);
  // CHANGE-REQUEST is honoured: the answer comes from the other address and port, and the
  // full cone lets it in.
  auto changed = stun_binding(udp.fd, primary, change_ip | change_port);
  REQUIRE(changed);
  CHECK(changed->from == alternate);
  CHECK(changed->mapped == plain->mapped);
  // Asked directly, the alternate sees the same mapping (endpoint-independent).
  auto direct = stun_binding(udp.fd, alternate);
  REQUIRE(direct);
  CHECK(direct->mapped == plain->mapped);
}

TEST_CASE("nat topology: behind a symmetric NAT coturn sees a new port per server address") {
  if (skip_unless_root())
    return;
  nat_topology t{nat_mode::symmetric};
  t.start_stun_server();
  socket_fd udp{lan_udp(t, 41000)};
  const endpoint primary{t.wan_ip(), nat_topology::stun_port};
  auto plain = stun_binding(udp.fd, primary);
  REQUIRE_MESSAGE(plain, t.stun_server_log());
  auto direct = stun_binding(udp.fd, {t.wan_alt_ip(), nat_topology::stun_alt_port});
  REQUIRE(direct);
  CHECK(plain->mapped.ip == t.router_wan_ip());
  CHECK(direct->mapped.ip == t.router_wan_ip());
  CHECK(plain->mapped.port != direct->mapped.port);
  // The answer from the other address is filtered out.
  CHECK_FALSE(stun_binding(udp.fd, primary, change_ip | change_port, 2));
}

TEST_CASE("nat topology: without NAT coturn maps the LAN host to itself") {
  if (skip_unless_root())
    return;
  nat_topology t{nat_mode::none};
  t.start_stun_server();
  socket_fd udp{lan_udp(t, 41000)};
  auto plain = stun_binding(udp.fd, {t.wan_ip(), nat_topology::stun_port});
  REQUIRE_MESSAGE(plain, t.stun_server_log());
  CHECK(plain->mapped == endpoint{t.lan_host_ip(), 41000});
}

// --- miniupnpd ----------------------------------------------------------------------------------

TEST_CASE("nat topology: miniupnpd answers a NAT-PMP external address request from the LAN") {
  if (skip_unless_root())
    return;
  nat_topology t{nat_mode::symmetric};
  t.start_miniupnpd();
  socket_fd udp{lan_udp(t, 0)};
  auto answer = natpmp_external_address(udp.fd, t);
  REQUIRE_MESSAGE(answer, t.miniupnpd_log());
  CHECK(answer->opcode == 128);
  CHECK(answer->result == 0);
  CHECK(answer->external_ip == t.router_wan_ip());
}

TEST_CASE(
    "nat topology: a NAT-PMP mapping forwards TCP from the WAN, a gateway reboot forgets it") {
  if (skip_unless_root())
    return;
  nat_topology t{nat_mode::symmetric};
  t.start_miniupnpd();
  socket_fd udp{lan_udp(t, 0)};
  auto mapped = natpmp_map_tcp(udp.fd, t, 8333, 60);
  REQUIRE_MESSAGE(mapped, t.miniupnpd_log());
  CHECK(mapped->result == 0);
  CHECK(mapped->external_port == 8333);
  CHECK(mapped->lifetime == 60);
  CHECK(t.gateway_mappings() == std::vector<gateway_mapping>{{"tcp", 8333, t.lan_host_ip(), 8333}});
  auto in = reaches_lan(t, t.wan_ip(), {t.router_wan_ip(), 8333}, 8333);
  REQUIRE_MESSAGE(in, t.router_ruleset());
  CHECK(in->ip == t.wan_ip());

  std::this_thread::sleep_for(2s); // so that the epoch (in seconds) visibly goes back
  auto before = natpmp_external_address(udp.fd, t);
  t.restart_miniupnpd();
  CHECK(t.miniupnpd_running());
  CHECK(t.gateway_mappings().empty());
  CHECK_FALSE(reaches_lan(t, t.wan_ip(), {t.router_wan_ip(), 8333}, 8333));
  auto after = natpmp_external_address(udp.fd, t);
  REQUIRE(before);
  REQUIRE(after);
  CHECK(after->epoch < before->epoch);
}

TEST_CASE("nat topology: PCP grants at least the minimum lifetime, and the mapping expires") {
  if (skip_unless_root())
    return;
  nat_topology t{nat_mode::symmetric};
  miniupnpd_options options;
  options.min_lifetime = 2s;
  t.start_miniupnpd(options);
  socket_fd udp{lan_udp(t, 0)};
  auto granted = pcp_map_tcp(udp.fd, t, 8333, 1);
  REQUIRE_MESSAGE(granted, t.miniupnpd_log());
  CHECK(granted->result == 0);
  CHECK(granted->lifetime == 2);
  CHECK(granted->external_port == 8333);
  CHECK(granted->external_ip == t.router_wan_ip());
  CHECK(has_tcp_mapping(t, 8333));
  // miniupnpd removes it when the lease ends (it wakes for the earliest expiry).
  auto gone = [&] { return !has_tcp_mapping(t, 8333); };
  for (int i = 0; i < 50 && !gone(); ++i)
    std::this_thread::sleep_for(100ms);
  CHECK(gone());
}

TEST_CASE("nat topology: with PCP switched off the gateway ignores PCP and answers NAT-PMP") {
  if (skip_unless_root())
    return;
  nat_topology t{nat_mode::symmetric};
  miniupnpd_options options;
  options.pcp = false;
  t.start_miniupnpd(options);
  socket_fd udp{lan_udp(t, 0)};
  CHECK_FALSE(pcp_map_tcp(udp.fd, t, 8333, 60, 2));
  auto answer = natpmp_external_address(udp.fd, t);
  REQUIRE_MESSAGE(answer, t.miniupnpd_log());
  CHECK(answer->external_ip == t.router_wan_ip());
}

TEST_CASE("nat topology: SSDP discovery from the LAN finds miniupnpd's IGD") {
  if (skip_unless_root())
    return;
  nat_topology t{nat_mode::symmetric};
  t.start_miniupnpd();
  socket_fd udp{lan_udp(t, 0)};
  std::string search = "M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n"
                       "MAN: \"ssdp:discover\"\r\nMX: 1\r\n"
                       "ST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n\r\n";
  // No multicast route needed: the LAN host's default route takes it to the router.
  auto answer = exchange(udp.fd, bytes(search.begin(), search.end()), {"239.255.255.250", 1900});
  REQUIRE_MESSAGE(answer, t.miniupnpd_log());
  std::string text(answer->first.begin(), answer->first.end());
  CHECK(answer->second.ip == t.router_lan_ip());
  CHECK(text.find("http://" + t.router_lan_ip() + ":5555/rootDesc.xml") != std::string::npos);
}

TEST_SUITE_END();
