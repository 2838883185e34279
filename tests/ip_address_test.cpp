#include "runtime/net/ip_address.hpp"

#include <doctest/doctest.h>

using namespace qtc;

TEST_CASE("ip address: parse and format round-trip IPv4 and IPv6") {
  auto v4 = parse_ip("192.168.1.20");
  REQUIRE(v4);
  CHECK(is_ipv4(*v4));
  CHECK(*v4 == ipv4(192, 168, 1, 20));
  CHECK(format_ip(*v4) == "192.168.1.20");
  CHECK(format_endpoint(*v4, 8333) == "192.168.1.20:8333");
  auto v6 = parse_ip("2a01:4f8::1");
  REQUIRE(v6);
  CHECK_FALSE(is_ipv4(*v6));
  CHECK(format_ip(*v6) == "2a01:4f8::1");
  CHECK(format_endpoint(*v6, 1) == "[2a01:4f8::1]:1");
  CHECK(endpoint_host(format_endpoint(*v4, 8333)) == "192.168.1.20");
  CHECK(endpoint_host(format_endpoint(*v6, 1)) == "2a01:4f8::1");
  CHECK(endpoint_host("seed.example") == "seed.example");
  CHECK_FALSE(parse_ip("300.1.1.1"));
  CHECK_FALSE(parse_ip("seed.example"));
  CHECK_FALSE(parse_ip(""));
  CHECK_FALSE(parse_ip("[::1]"));
}

TEST_CASE("ip address: classification follows the special-purpose registries") {
  auto cls = [](const char* s) { return classify(*parse_ip(s)); };
  CHECK(cls("8.8.8.8") == ip_class::routable);
  CHECK(cls("0.0.0.0") == ip_class::unspecified);
  CHECK(cls("::") == ip_class::unspecified);
  CHECK(cls("127.0.0.7") == ip_class::loopback);
  CHECK(cls("::1") == ip_class::loopback);
  CHECK(cls("10.1.2.3") == ip_class::private_net);
  CHECK(cls("172.16.0.1") == ip_class::private_net);
  CHECK(cls("172.32.0.1") == ip_class::routable);
  CHECK(cls("192.168.0.1") == ip_class::private_net);
  CHECK(cls("100.64.0.1") == ip_class::private_net);
  CHECK(cls("fd00::1") == ip_class::private_net);
  CHECK(cls("169.254.1.1") == ip_class::link_local);
  CHECK(cls("fe80::1") == ip_class::link_local);
  CHECK(cls("224.0.0.1") == ip_class::multicast);
  CHECK(cls("ff02::1") == ip_class::multicast);
  CHECK(cls("255.255.255.255") == ip_class::broadcast);
  CHECK(cls("192.0.2.1") == ip_class::documentation);
  CHECK(cls("198.51.100.1") == ip_class::documentation);
  CHECK(cls("203.0.113.9") == ip_class::documentation);
  CHECK(cls("2001:db8::1") == ip_class::documentation);
  CHECK(cls("::1.2.3.4") == ip_class::reserved);
}

TEST_CASE("ip address: private ranges are usable only where the chain spec allows them") {
  CHECK(usable_peer_address(*parse_ip("8.8.8.8"), false));
  CHECK_FALSE(usable_peer_address(*parse_ip("127.0.0.1"), false));
  CHECK(usable_peer_address(*parse_ip("127.0.0.1"), true));
  CHECK(usable_peer_address(*parse_ip("10.0.0.1"), true));
  CHECK_FALSE(usable_peer_address(*parse_ip("224.0.0.1"), true));
  CHECK_FALSE(usable_peer_address(*parse_ip("192.0.2.1"), true));
  CHECK_FALSE(usable_peer_address(*parse_ip("0.0.0.0"), true));
  CHECK_FALSE(usable_peer_address(*parse_ip("255.255.255.255"), true));
}

TEST_CASE("ip address: network groups are /16 for IPv4 and /32 for IPv6") {
  auto g = [](const char* s, bool priv = false) { return network_group(*parse_ip(s), priv); };
  CHECK(g("1.2.3.4") == g("1.2.200.1"));
  CHECK(g("1.2.3.4") != g("1.3.3.4"));
  CHECK(g("2a01:4f8:1::1") == g("2a01:4f8:ffff::2"));
  CHECK(g("2a01:4f8::1") != g("2a01:4f9::1"));
  // Unroutable addresses: one group on public networks, one per host where private is allowed.
  CHECK(g("127.0.0.1") == g("10.0.0.1"));
  CHECK(g("127.0.0.1", true) != g("127.0.0.2", true));
  CHECK(g("1.2.3.4", true) == g("1.2.9.9", true));
}
