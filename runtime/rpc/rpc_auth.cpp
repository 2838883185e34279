#include "runtime/rpc/rpc_auth.hpp"

#include "messages/primitives/hex.hpp"

#include <botan/base64.h>
#include <botan/mac.h>
#include <botan/mem_ops.h>

#include <algorithm>

namespace qtc::rpc {

namespace {

bool is_lower_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

/// Longest Authorization header looked at: a user and password of a few hundred bytes each.
constexpr std::size_t max_authorization_size = 4096;

} // namespace

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  return Botan::constant_time_compare({reinterpret_cast<const std::uint8_t*>(a.data()), a.size()},
                                      {reinterpret_cast<const std::uint8_t*>(b.data()), b.size()});
}

std::string make_cookie(std::span<const std::uint8_t, 32> random) {
  return std::string{cookie_user} + ":" + to_hex(random);
}

std::optional<rpcauth_entry> parse_rpcauth(std::string_view text, std::string& error) {
  auto colon = text.find(':');
  auto dollar = text.find('$', colon == std::string_view::npos ? 0 : colon);
  if (colon == std::string_view::npos || dollar == std::string_view::npos) {
    error = "expected user:salt$hmac (as share/rpcauth/rpcauth.py prints)";
    return std::nullopt;
  }
  rpcauth_entry e{std::string{text.substr(0, colon)},
                  std::string{text.substr(colon + 1, dollar - colon - 1)},
                  std::string{text.substr(dollar + 1)}};
  if (e.user.empty() || e.salt.empty()) {
    error = "the user and the salt must not be empty";
    return std::nullopt;
  }
  std::transform(e.hmac_hex.begin(), e.hmac_hex.end(), e.hmac_hex.begin(), [](char c) {
    return c >= 'A' && c <= 'F' ? static_cast<char>(c - 'A' + 'a') : c;
  });
  if (e.hmac_hex.size() != 64 || !is_lower_hex(e.hmac_hex)) {
    error = "the hmac must be 64 hex digits (HMAC-SHA-256), got \"" + e.hmac_hex + "\"";
    return std::nullopt;
  }
  return e;
}

std::string rpcauth_hmac(std::string_view salt, std::string_view password) {
  auto mac = Botan::MessageAuthenticationCode::create_or_throw("HMAC(SHA-256)");
  mac->set_key(reinterpret_cast<const std::uint8_t*>(salt.data()), salt.size());
  mac->update(reinterpret_cast<const std::uint8_t*>(password.data()), password.size());
  auto tag = mac->final();
  return to_hex(std::span<const std::uint8_t>{tag.data(), tag.size()});
}

std::optional<std::string> decode_basic_authorization(std::string_view header) {
  constexpr std::string_view scheme = "Basic ";
  if (header.size() > max_authorization_size || header.substr(0, scheme.size()) != scheme)
    return std::nullopt;
  auto encoded = header.substr(scheme.size());
  while (!encoded.empty() && (encoded.back() == ' ' || encoded.back() == '\t'))
    encoded.remove_suffix(1);
  try {
    auto decoded = Botan::base64_decode(encoded);
    return std::string{decoded.begin(), decoded.end()};
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

void rpc_credentials::set_cookie(std::string user_password) {
  cookie_ = std::move(user_password);
}

void rpc_credentials::add(rpcauth_entry entry) {
  entries_.push_back(std::move(entry));
}

bool rpc_credentials::accepts(std::string_view authorization_header) const {
  auto user_password = decode_basic_authorization(authorization_header);
  return user_password && accepts_user_password(*user_password);
}

bool rpc_credentials::accepts_user_password(std::string_view user_password,
                                            secret_compare equal) const {
  auto colon = user_password.find(':');
  if (colon == std::string_view::npos)
    return false;
  bool ok = !cookie_.empty() && equal(user_password, cookie_);
  auto user = user_password.substr(0, colon);
  auto password = user_password.substr(colon + 1);
  // Every entry is checked, matching or not, so the time does not tell which user exists.
  for (const auto& e : entries_) {
    bool user_matches = equal(user, e.user);
    bool hmac_matches = equal(rpcauth_hmac(e.salt, password), e.hmac_hex);
    ok = ok || (user_matches && hmac_matches);
  }
  return ok;
}

} // namespace qtc::rpc
