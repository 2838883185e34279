#include "runtime/net/token_bucket.hpp"

#include <doctest/doctest.h>

using namespace qtc;
using namespace std::chrono_literals;

TEST_SUITE_BEGIN("security");

TEST_CASE("token bucket: refills at its rate up to the burst, grants add at once") {
  token_bucket::time_point t{1h};
  token_bucket b{0.1, 1000, 1, t};
  CHECK(b.take(t));
  CHECK_FALSE(b.take(t));
  CHECK_FALSE(b.take(t + 9s));
  CHECK(b.take(t + 10s)); // 0.1 per second
  b.grant(1000);
  int taken = 0;
  while (b.take(t + 10s))
    ++taken;
  CHECK(taken == 1000); // the burst caps the grant
  // A day later the bucket is full again, not fuller.
  CHECK(b.tokens(t + 24h) == doctest::Approx(1000));
}

TEST_SUITE_END();
