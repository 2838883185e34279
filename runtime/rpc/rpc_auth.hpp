// HTTP Basic authentication as bitcoind does it: the cookie (`__cookie__:<random hex>`, written
// to <data-dir>/.cookie at each start) and `rpcauth` entries `user:salt$hmac`, where hmac is
// HMAC-SHA-256 keyed with the salt (its text) over the password, in hex (the format of Bitcoin
// Core's share/rpcauth/rpcauth.py). Every comparison of secret material takes constant time.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace qtc::rpc {

/// The user name of the cookie, as bitcoind's.
inline constexpr std::string_view cookie_user = "__cookie__";

/// The cookie's line, `__cookie__:<64 hex digits>`, from 32 random bytes.
std::string make_cookie(std::span<const std::uint8_t, 32> random);

/// One `rpcauth` credential.
struct rpcauth_entry {
  std::string user;
  std::string salt;
  std::string hmac_hex; ///< 64 lowercase hex digits
};

/// Parses `user:salt$hmac`; nullopt with `error` naming what is wrong.
std::optional<rpcauth_entry> parse_rpcauth(std::string_view text, std::string& error);

/// The hex HMAC-SHA-256 an `rpcauth` entry holds for this salt and password.
std::string rpcauth_hmac(std::string_view salt, std::string_view password);

/// `user:password` from an Authorization header `Basic <base64>`; nullopt if it is not one.
std::optional<std::string> decode_basic_authorization(std::string_view header);

/// Equal contents in time that depends only on the lengths (Botan's constant_time_compare):
/// every comparison of a secret goes through it.
bool constant_time_equal(std::string_view a, std::string_view b);

/// How rpc_credentials compares secrets: constant_time_equal (a test passes a counting one).
using secret_compare = bool (*)(std::string_view, std::string_view);

/// The credentials an RPC server accepts.
class rpc_credentials {
public:
  /// The cookie's `__cookie__:<hex>` (empty: no cookie).
  void set_cookie(std::string user_password);
  void add(rpcauth_entry entry);

  /// Whether an Authorization header's value names a valid credential.
  bool accepts(std::string_view authorization_header) const;

  /// Whether `user:password` is a valid credential. The cookie and every rpcauth entry (user
  /// and HMAC) are compared whatever matches, so the time does not tell which part was wrong.
  bool accepts_user_password(std::string_view user_password,
                             secret_compare equal = constant_time_equal) const;

private:
  std::string cookie_;
  std::vector<rpcauth_entry> entries_;
};

} // namespace qtc::rpc
