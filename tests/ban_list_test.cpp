#include "runtime/net/ban_list.hpp"

#include <doctest/doctest.h>

using namespace qtc;
using namespace std::chrono_literals;

TEST_SUITE_BEGIN("security");

TEST_CASE("ban list: a violation bans the address for the duration, then it may connect again") {
  ban_list bans;
  ban_list::time_point t{1h};
  auto a = ipv4(10, 0, 0, 1);
  auto b = ipv4(10, 0, 0, 2);
  CHECK_FALSE(bans.banned(a, t));
  bans.misbehaved(a, "wire-error: bad_checksum", t, 600s);
  CHECK(bans.banned(a, t));
  CHECK(bans.banned(a, t + 599s));
  CHECK_FALSE(bans.banned(b, t)); // only that address
  CHECK_FALSE(bans.banned(a, t + 600s));
  CHECK(bans.bans().empty()); // the expired ban was forgotten when asked about
  // The conduct stays: a second violation counts on top of the first.
  bans.misbehaved(a, "invalid-data: bad header", t + 700s, 600s);
  REQUIRE(bans.conduct_of(a) != nullptr);
  CHECK(bans.conduct_of(a)->violations == 2);
  CHECK(bans.conduct_of(a)->last_violation == "invalid-data: bad header");
  CHECK(bans.conduct_of(b) == nullptr);
}

TEST_CASE("ban list: a longer ban in force is not shortened by a shorter one") {
  ban_list bans;
  ban_list::time_point t{1h};
  auto a = ipv4(10, 0, 0, 1);
  bans.ban(a, t + 24h * 365); // e.g. ourselves
  bans.misbehaved(a, "protocol-violation", t, 600s);
  CHECK(bans.banned(a, t + 1h));
}

TEST_CASE("ban list: the security manager's discouragements run out and are not bans") {
  ban_list bans;
  auto now = std::chrono::steady_clock::time_point{std::chrono::hours{1}};
  auto ip = *parse_ip("192.0.2.9");
  ban_view v;
  v.base = ip;
  v.prefix_len = 128;
  v.seconds_left = 600;
  v.discouraged = true;
  bans.add_policy(v, now);
  CHECK(bans.discouraged(ip, now));
  CHECK_FALSE(bans.banned(ip, now));
  CHECK(bans.policy_bans() == 0);
  CHECK(bans.discouraged_count() == 1);
  // A later, shorter one does not shorten it.
  v.seconds_left = 10;
  bans.add_policy(v, now);
  CHECK(bans.discouraged(ip, now + std::chrono::seconds{599}));
  CHECK_FALSE(bans.discouraged(ip, now + std::chrono::seconds{600}));
  CHECK(bans.discouraged_count() == 0); // forgotten once run out
  CHECK_FALSE(bans.discouraged(*parse_ip("192.0.2.10"), now));
}

TEST_SUITE_END();
