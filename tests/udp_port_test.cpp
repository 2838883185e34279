// The real UDP port on loopback (exchange, non-blocking and bounded polls, oversize datagrams),
// the routing facts the NAT mapper asks of the host, and the /proc/net/route parser on sample
// texts, including the malformed lines a parser of kernel text must survive.
#include "runtime/io/udp_port.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

using namespace qtc;

namespace {

const ip_bytes loopback4 = ipv4(127, 0, 0, 1);

std::unique_ptr<udp_port> open_loopback(const ip_bytes& ip = loopback4) {
  std::string error;
  auto port = open_udp_port(ip, 0, error);
  INFO(error);
  REQUIRE(port);
  return port;
}

std::uint16_t port_of(const udp_port& p) {
  auto ep = p.local_endpoint();
  REQUIRE(ep);
  return ep->second;
}

/// Polls until at least `want` datagrams came or a second passed. Loopback delivery is
/// synchronous in practice, but a test should not depend on that.
std::vector<datagram> poll_for(udp_port& p, std::size_t want) {
  std::vector<datagram> got;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (got.size() < want && std::chrono::steady_clock::now() < deadline) {
    for (auto& d : p.poll())
      got.push_back(std::move(d));
    if (got.size() < want)
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return got;
}

bool send_bytes(udp_port& from, const ip_bytes& ip, std::uint16_t port, const bytes& payload) {
  std::string error;
  bool ok = from.send(ip, port, payload, error);
  INFO(error);
  CHECK(ok);
  return ok;
}

/// The route text the kernel would print for `ip` as a gateway: the host-order integer of
/// the network-order bytes, "%08X".
std::string route_hex(const ip_bytes& ip) {
  std::uint32_t v = 0;
  std::memcpy(&v, ip.data() + 12, 4);
  char buf[9];
  std::snprintf(buf, sizeof(buf), "%08X", v);
  return buf;
}

const char* route_header =
    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT   \n";

std::string route_row(const std::string& iface, const std::string& dest, const std::string& gw,
                      const std::string& flags, int metric, const std::string& mask) {
  std::ostringstream s;
  s << iface << '\t' << dest << '\t' << gw << '\t' << flags << "\t0\t0\t" << metric << '\t' << mask
    << "\t0\t0\t0        \n";
  return s.str();
}

} // namespace

TEST_SUITE_BEGIN("nat");

TEST_CASE("udp port: two loopback ports exchange datagrams") {
  auto a = open_loopback();
  auto b = open_loopback();
  auto a_port = port_of(*a), b_port = port_of(*b);
  CHECK(a_port != 0);
  CHECK(a->local_endpoint()->first == loopback4);

  REQUIRE(send_bytes(*a, loopback4, b_port, bytes{'p', 'i', 'n', 'g'}));
  auto got = poll_for(*b, 1);
  REQUIRE(got.size() == 1);
  CHECK(got[0].from_ip == loopback4);
  CHECK(got[0].from_port == a_port);
  CHECK(got[0].payload == bytes{'p', 'i', 'n', 'g'});

  REQUIRE(send_bytes(*b, got[0].from_ip, got[0].from_port, bytes{'p', 'o', 'n', 'g'}));
  auto back = poll_for(*a, 1);
  REQUIRE(back.size() == 1);
  CHECK(back[0].from_port == b_port);
  CHECK(back[0].payload == bytes{'p', 'o', 'n', 'g'});
  CHECK(a->poll().empty());
}

TEST_CASE("udp port: IPv6 loopback ports exchange datagrams") {
  auto v6 = *parse_ip("::1");
  auto a = open_loopback(v6);
  auto b = open_loopback(v6);
  REQUIRE(send_bytes(*a, v6, port_of(*b), bytes{1, 2, 3}));
  auto got = poll_for(*b, 1);
  REQUIRE(got.size() == 1);
  CHECK(got[0].from_ip == v6);
  CHECK(got[0].from_port == port_of(*a));
  CHECK(got[0].payload == bytes{1, 2, 3});
}

TEST_CASE("udp port: a poll with nothing pending returns at once") {
  auto a = open_loopback();
  for (int i = 0; i < 50; ++i) {
    auto start = std::chrono::steady_clock::now();
    auto got = a->poll();
    auto took = std::chrono::steady_clock::now() - start;
    CHECK(got.empty());
    CHECK(took < std::chrono::milliseconds(5));
  }
}

TEST_CASE("udp port: a poll returns at most 64 datagrams, the rest come next time") {
  auto a = open_loopback();
  auto b = open_loopback();
  for (std::uint8_t i = 0; i < 100; ++i)
    REQUIRE(send_bytes(*a, loopback4, port_of(*b), bytes{i}));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  auto first = b->poll();
  CHECK(first.size() == udp_poll_max_datagrams);
  auto rest = poll_for(*b, 100 - first.size());
  CHECK(rest.size() == 100 - first.size());
  REQUIRE(!first.empty());
  CHECK(first.front().payload == bytes{0});
  REQUIRE(!rest.empty());
  CHECK(rest.back().payload == bytes{99});
}

TEST_CASE("udp port: oversize datagrams are dropped, not truncated, and do not block others") {
  auto a = open_loopback();
  auto b = open_loopback();
  auto to = port_of(*b);
  REQUIRE(send_bytes(*a, loopback4, to, bytes(udp_max_datagram_bytes + 1, 0xaa)));
  REQUIRE(send_bytes(*a, loopback4, to, bytes(60000, 0xbb)));
  REQUIRE(send_bytes(*a, loopback4, to, bytes(udp_max_datagram_bytes, 0xcc)));
  REQUIRE(send_bytes(*a, loopback4, to, bytes{0x42}));
  auto got = poll_for(*b, 2);
  REQUIRE(got.size() == 2);
  CHECK(got[0].payload == bytes(udp_max_datagram_bytes, 0xcc));
  CHECK(got[1].payload == bytes{0x42});
  CHECK(b->poll().empty());
}

TEST_CASE("udp port: failures are reported, not thrown or ignored") {
  auto a = open_loopback();
  std::string error;
  CHECK_FALSE(a->send(*parse_ip("::1"), 9, bytes{1}, error));
  CHECK(error.find("IPv4 socket") != std::string::npos);

  error.clear();
  auto taken = open_udp_port(loopback4, port_of(*a), error);
  CHECK(taken == nullptr);
  CHECK(error.find("bind 127.0.0.1:") != std::string::npos);

  error.clear();
  // 203.0.113.0/24 is documentation space: no host has it on an interface.
  CHECK(open_udp_port(ipv4(203, 0, 113, 9), 0, error) == nullptr);
  CHECK(error.find("bind 203.0.113.9:0") != std::string::npos);
}

TEST_CASE("udp port: the source address toward loopback is loopback") {
  CHECK(local_address_toward(loopback4) == loopback4);
  // 127.0.0.9 is reached over lo too, from lo's own address.
  auto other = local_address_toward(ipv4(127, 0, 0, 9));
  REQUIRE(other);
  CHECK(classify(*other) == ip_class::loopback);
  CHECK(local_address_toward(*parse_ip("::1")) == parse_ip("::1"));
}

TEST_CASE("udp port: local interface addresses include loopback") {
  auto mine = local_interface_addresses();
  CHECK(std::find(mine.begin(), mine.end(), loopback4) != mine.end());
  std::sort(mine.begin(), mine.end());
  CHECK(std::adjacent_find(mine.begin(), mine.end()) == mine.end());
}

TEST_CASE("proc net route: the kernel's text on this (little-endian) host") {
  if constexpr (std::endian::native != std::endian::little)
    return;
  // Captured from a host whose default route is via 192.168.2.1 (lines padded as the kernel
  // pads them).
  std::string text = std::string{route_header}
                     + route_row("eth0", "00000000", "0102A8C0", "0003", 100, "00000000")
                     + route_row("eth0", "0002A8C0", "00000000", "0001", 100, "00FFFFFF");
  CHECK(parse_proc_net_route(text) == ipv4(192, 168, 2, 1));
}

TEST_CASE("proc net route: only up default routes with a gateway count") {
  auto gw = [](int d) { return route_hex(ipv4(10, 0, 0, static_cast<std::uint8_t>(d))); };
  std::string header = route_header;
  CHECK_FALSE(parse_proc_net_route(""));
  CHECK_FALSE(parse_proc_net_route(header));
  // A subnet route, a default route that is down, one without RTF_GATEWAY, one via 0.0.0.0.
  std::string none = header + route_row("eth0", gw(0), gw(1), "0003", 0, "00FFFFFF")
                     + route_row("eth0", "00000000", gw(2), "0002", 0, "00000000")
                     + route_row("eth0", "00000000", gw(3), "0001", 0, "00000000")
                     + route_row("eth0", "00000000", "00000000", "0003", 0, "00000000");
  CHECK_FALSE(parse_proc_net_route(none));
  // The lowest metric wins, and the first line among equals.
  std::string several = header + route_row("wlan0", "00000000", gw(4), "0003", 600, "00000000")
                        + route_row("eth0", "00000000", gw(5), "0003", 100, "00000000")
                        + route_row("eth1", "00000000", gw(6), "0003", 100, "00000000");
  CHECK(parse_proc_net_route(several) == ipv4(10, 0, 0, 5));
  // No newline at the end.
  auto last = route_row("eth0", "00000000", gw(7), "0003", 0, "00000000");
  last.pop_back();
  CHECK(parse_proc_net_route(header + last) == ipv4(10, 0, 0, 7));
}

TEST_CASE("proc net route: malformed lines are skipped") {
  std::string good =
      route_row("eth0", "00000000", route_hex(ipv4(10, 1, 2, 3)), "0003", 5, "00000000");
  std::string text = std::string{"garbage\n"} + "\n" + "eth0 00000000\n"
                     + "eth0\t00000000\tZZZZZZZZ\t0003\t0\t0\t0\t00000000\n"  // not hex
                     + "eth0\t00000000\t1FFFFFFFF\t0003\t0\t0\t0\t00000000\n" // 33 bits
                     + "eth0\t00000000\t-1\t0003\t0\t0\t0\t00000000\n"        // sign
                     + "eth0\t00000000\t01020304\t0003\t0\t0\tx\t00000000\n"  // metric
                     + "eth0\t00000000\t01020304\t0003\t0\t0\t0\n"            // no mask
                     + std::string(5000, 'x') + "\n" + std::string{"\0\t\0\n", 4} + good;
  CHECK(parse_proc_net_route(text) == ipv4(10, 1, 2, 3));
}

TEST_CASE("proc net route: the reader agrees with the parser on this host's table") {
  std::ifstream in("/proc/net/route");
  if (!in) {
    MESSAGE("no /proc/net/route here");
    return;
  }
  std::stringstream text;
  text << in.rdbuf();
  CHECK(default_gateway_v4() == parse_proc_net_route(text.str()));
}

TEST_SUITE_END();
