// The node's memory of addresses it relayed (runtime/net/relay_filter): each address once, again
// only when announced ten minutes later than the relayed announcement, the oldest forgotten first.
#include "runtime/net/relay_filter.hpp"

#include <doctest/doctest.h>

using namespace qtc;

TEST_CASE("relay filter: an address passes once and again only with a time ten minutes later") {
  relay_filter f{{1, 2, 3}};
  auto a = ipv4(11, 0, 0, 1);
  CHECK(f.should_relay(a, 18444, 100'000));
  CHECK_FALSE(f.should_relay(a, 18444, 100'000));
  CHECK_FALSE(f.should_relay(a, 18444, 100'001)); // another node's clock, a second apart
  CHECK_FALSE(f.should_relay(a, 18444, 99'000));  // older
  CHECK_FALSE(f.should_relay(a, 18444, 100'599));
  CHECK(f.should_relay(a, 18444, 100'600)); // re-announced later: relayed again
  CHECK_FALSE(f.should_relay(a, 18444, 100'700));
  CHECK(f.should_relay(a, 18445, 100'000)); // another port is another address
  CHECK(f.should_relay(ipv4(11, 0, 0, 2), 18444, 100'000));
  CHECK(f.size() == 3);
}

TEST_CASE("relay filter: bounded with the oldest address forgotten first") {
  relay_filter f{{9}, 2};
  auto a = ipv4(11, 0, 0, 1), b = ipv4(12, 0, 0, 1), c = ipv4(13, 0, 0, 1);
  CHECK(f.should_relay(a, 1, 5));
  CHECK(f.should_relay(b, 1, 5));
  CHECK(f.should_relay(c, 1, 5)); // a is forgotten
  CHECK(f.size() == 2);
  CHECK_FALSE(f.should_relay(b, 1, 5));
  CHECK_FALSE(f.should_relay(c, 1, 5));
  CHECK(f.should_relay(a, 1, 5));
  CHECK(f.size() == 2);
}
