// The operator's allowlist entries (--qtcnode.allow): parsing, defaults, unions, errors.
#include "runtime/net/allowlist.hpp"

#include <doctest/doctest.h>

using namespace qtc;

TEST_SUITE_BEGIN("security");

TEST_CASE("allowlist: entries, their permissions, and the union over entries containing an ip") {
  std::string error;
  auto all = parse_allow_entry("192.0.2.7", error);
  REQUIRE(all);
  CHECK(all->permissions == peer_permissions{true, true, true}); // none given: all three
  CHECK(all->net.format() == "192.0.2.7");
  auto noban = parse_allow_entry("noban@10.0.0.0/8", error);
  REQUIRE(noban);
  CHECK(noban->permissions == peer_permissions{true, false, false});
  auto two = parse_allow_entry("relay+download@2001:db8::/32", error);
  REQUIRE(two);
  CHECK(two->permissions == peer_permissions{false, true, true});

  std::vector<allow_entry> list{*noban, *two};
  CHECK(permissions_of(list, *parse_ip("10.1.2.3")) == peer_permissions{true, false, false});
  CHECK(permissions_of(list, *parse_ip("11.1.2.3")) == peer_permissions{});
  CHECK(permissions_of(list, *parse_ip("2001:db8::1")) == peer_permissions{false, true, true});
  auto relay10 = parse_allow_entry("relay@10.1.0.0/16", error);
  REQUIRE(relay10);
  list.push_back(*relay10);
  CHECK(permissions_of(list, *parse_ip("10.1.2.3")) == peer_permissions{true, true, false});
}

TEST_CASE("allowlist: bad entries say what is wrong") {
  std::string error;
  CHECK_FALSE(parse_allow_entry("ban@10.0.0.0/8", error));
  CHECK(error == "unknown permission \"ban\" (noban, relay, download)");
  CHECK_FALSE(parse_allow_entry("@10.0.0.0/8", error));
  CHECK(error == "no permission before '@'");
  CHECK_FALSE(parse_allow_entry("noban@10.0.0.0/33", error));
  CHECK(error.find("is not an address or subnet") != std::string::npos);
  CHECK_FALSE(parse_allow_entry("noban+@10.0.0.1", error));
}

TEST_SUITE_END();
