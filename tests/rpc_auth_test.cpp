// HTTP Basic authentication of the RPC (runtime/rpc/rpc_auth): the cookie, rpcauth entries in
// Bitcoin Core's format (its functional test's vector), malformed headers, and secrets compared
// in constant time whatever the credential.
#include "runtime/rpc/rpc_auth.hpp"

#include <doctest/doctest.h>

#include <array>

using namespace qtc::rpc;

namespace {

// Bitcoin Core test/functional/rpc_users.py: user rt, this password, this rpcauth line.
constexpr std::string_view rt_password = "cA773lm788buwYe4g4WT+05pKyNruVKjQ25x3n0DQcM=";
constexpr std::string_view rt_rpcauth =
    "rt:93648e835a54c573682c2eb19f882535$"
    "7681e9c5b74bdd85e78166031d2058e1069b3ed7ed967c93fc63abba06f31144";
// base64("rt:" + rt_password)
constexpr std::string_view rt_basic =
    "Basic cnQ6Y0E3NzNsbTc4OGJ1d1llNGc0V1QrMDVwS3lOcnVWS2pRMjV4M24wRFFjTT0=";
// base64("__cookie__:" + 64 zeros)
constexpr std::string_view zero_cookie_basic = "Basic "
                                               "X19jb29raWVfXzowMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDA"
                                               "wMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAw";

rpcauth_entry parsed(std::string_view text) {
  std::string error;
  auto e = parse_rpcauth(text, error);
  REQUIRE_MESSAGE(e, error);
  return *e;
}

rpc_credentials cookie_and_rt() {
  rpc_credentials c;
  c.set_cookie(make_cookie(std::array<std::uint8_t, 32>{}));
  c.add(parsed("alice:s4lt$" + rpcauth_hmac("s4lt", "wonderland")));
  c.add(parsed(rt_rpcauth));
  return c;
}

int comparisons = 0;
bool counting_equal(std::string_view a, std::string_view b) {
  ++comparisons;
  return constant_time_equal(a, b);
}

} // namespace

TEST_SUITE_BEGIN("rpc");

TEST_CASE("rpc auth: the cookie is __cookie__ and 64 hex digits of its random bytes") {
  std::array<std::uint8_t, 32> random{};
  random[0] = 0xab;
  random[31] = 0x01;
  CHECK(make_cookie(random)
        == "__cookie__:ab00000000000000000000000000000000000000000000000000000000000001");
}

TEST_CASE("rpc auth: rpcauth's HMAC-SHA-256 matches Bitcoin Core's rpcauth.py") {
  CHECK(rpcauth_hmac("93648e835a54c573682c2eb19f882535", rt_password)
        == "7681e9c5b74bdd85e78166031d2058e1069b3ed7ed967c93fc63abba06f31144");
  auto e = parsed(rt_rpcauth);
  CHECK(e.user == "rt");
  CHECK(e.salt == "93648e835a54c573682c2eb19f882535");
  CHECK(e.hmac_hex == "7681e9c5b74bdd85e78166031d2058e1069b3ed7ed967c93fc63abba06f31144");
  // Upper-case hex is taken and kept lower-case.
  CHECK(parsed("u:s$7681E9C5B74BDD85E78166031D2058E1069B3ED7ED967C93FC63ABBA06F31144").hmac_hex
        == e.hmac_hex);
}

TEST_CASE("rpc auth: malformed rpcauth entries name what is wrong") {
  std::string error;
  CHECK_FALSE(parse_rpcauth("rt93648e$00", error));
  CHECK(error == "expected user:salt$hmac (as share/rpcauth/rpcauth.py prints)");
  CHECK_FALSE(parse_rpcauth("rt:salt", error));
  CHECK(error == "expected user:salt$hmac (as share/rpcauth/rpcauth.py prints)");
  CHECK_FALSE(parse_rpcauth(":salt$" + std::string(64, 'a'), error));
  CHECK(error == "the user and the salt must not be empty");
  CHECK_FALSE(parse_rpcauth("rt:$" + std::string(64, 'a'), error));
  CHECK(error == "the user and the salt must not be empty");
  CHECK_FALSE(parse_rpcauth("rt:s$" + std::string(63, 'a'), error));
  CHECK(error
        == "the hmac must be 64 hex digits (HMAC-SHA-256), got \"" + std::string(63, 'a') + "\"");
  CHECK_FALSE(parse_rpcauth("rt:s$" + std::string(63, 'a') + "g", error));
  CHECK(error.find("the hmac must be 64 hex digits") == 0);
}

TEST_CASE("rpc auth: the cookie, right and wrong") {
  auto c = cookie_and_rt();
  CHECK(c.accepts(zero_cookie_basic));
  CHECK(c.accepts_user_password("__cookie__:" + std::string(64, '0')));
  CHECK_FALSE(c.accepts_user_password("__cookie__:" + std::string(63, '0') + "1"));
  CHECK_FALSE(c.accepts_user_password("__cookie__:" + std::string(63, '0')));
  CHECK_FALSE(c.accepts_user_password("__cookie__:" + std::string(65, '0')));
  CHECK_FALSE(c.accepts_user_password("__Cookie__:" + std::string(64, '0')));
  // No cookie set: no cookie accepted, not even an empty one.
  rpc_credentials none;
  CHECK_FALSE(none.accepts_user_password(":"));
  CHECK_FALSE(none.accepts_user_password("__cookie__:"));
  CHECK_FALSE(none.accepts(zero_cookie_basic));
}

TEST_CASE("rpc auth: rpcauth users, right and wrong password, unknown user") {
  auto c = cookie_and_rt();
  CHECK(c.accepts(rt_basic));
  CHECK(c.accepts_user_password("rt:" + std::string{rt_password}));
  CHECK(c.accepts_user_password("alice:wonderland"));
  CHECK_FALSE(c.accepts_user_password("alice:Wonderland"));
  CHECK_FALSE(c.accepts_user_password("alice:"));
  CHECK_FALSE(c.accepts_user_password("rt:wonderland")); // another user's password
  CHECK_FALSE(c.accepts_user_password("alice:" + std::string{rt_password}));
  CHECK_FALSE(c.accepts_user_password("bob:wonderland"));  // no such user
  CHECK_FALSE(c.accepts_user_password("alicewonderland")); // no colon
  // The password may hold colons: only the first one separates the user.
  c.add(parsed("carol:pepper$" + rpcauth_hmac("pepper", "a:b:c")));
  CHECK(c.accepts_user_password("carol:a:b:c"));
  CHECK_FALSE(c.accepts_user_password("carol:a:b"));
}

TEST_CASE("rpc auth: malformed Authorization headers are refused") {
  auto c = cookie_and_rt();
  CHECK(decode_basic_authorization("Basic YTpi") == std::optional<std::string>{"a:b"});
  CHECK(decode_basic_authorization("Basic YTpi \t") == std::optional<std::string>{"a:b"});
  for (std::string_view header :
       {std::string_view{""}, std::string_view{"Basic"}, std::string_view{"basic YTpi"},
        std::string_view{"Bearer YTpi"}, std::string_view{"BasicYTpi"},
        std::string_view{"Basic ***"}, std::string_view{"Basic YTp"}}) {
    CAPTURE(header);
    CHECK_FALSE(c.accepts(header));
  }
  CHECK_FALSE(decode_basic_authorization("Basic ***"));
  CHECK_FALSE(decode_basic_authorization("Bearer YTpi"));
  // Longer than 4096 bytes: not decoded at all.
  CHECK(decode_basic_authorization("Basic " + std::string(4088, 'A')));
  CHECK_FALSE(decode_basic_authorization("Basic " + std::string(4092, 'A')));
}

TEST_CASE("rpc auth: secrets are compared in constant time, as many times whatever is wrong") {
  CHECK(constant_time_equal("abc", "abc"));
  CHECK_FALSE(constant_time_equal("abc", "abd"));
  CHECK_FALSE(constant_time_equal("abc", "xbc"));
  CHECK_FALSE(constant_time_equal("abc", "abcd"));
  CHECK(constant_time_equal("", ""));
  auto c = cookie_and_rt();
  // The cookie, then a user and an HMAC for each of the two entries: five comparisons for the
  // right cookie, a right user, a wrong password, an unknown user.
  for (std::string_view attempt :
       {std::string_view{
            "__cookie__:0000000000000000000000000000000000000000000000000000000000000000"},
        std::string_view{"alice:wonderland"}, std::string_view{"rt:wrong"},
        std::string_view{"nobody:wrong"}}) {
    CAPTURE(attempt);
    comparisons = 0;
    (void)c.accepts_user_password(attempt, counting_equal);
    CHECK(comparisons == 5);
  }
  comparisons = 0;
  CHECK(c.accepts_user_password("alice:wonderland", counting_equal));
  CHECK_FALSE(c.accepts_user_password("alice:wrong", counting_equal));
  CHECK(comparisons == 10);
}

TEST_SUITE_END();
