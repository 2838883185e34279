// Who may use the inspector. CAF 0.17's remoting has no authentication, so every inspector
// request carries a cookie: the text of `<data-dir>/.inspect-cookie`, which the node writes anew
// at each start (0600, like bitcoind's RPC `.cookie`), so only someone who can read the node's
// data directory can act on it. Reads (tree, top, peers, bans, sync, log) need the cookie only
// when the inspector listens on an address other than loopback; actions (ban, unban, clear-bans,
// disconnect, restart) always do.
#pragma once

#include <string>
#include <string_view>

namespace qtc {

/// What a request does.
enum class inspector_request : bool {
  read,   ///< looks at the node
  action, ///< changes it
};

class inspector_access {
public:
  /// `cookie`: the cookie of this start; `loopback`: the inspector listens on loopback only.
  inspector_access(std::string cookie, bool loopback);

  /// Whether a request of this kind carrying `given` may run (compared in constant time).
  bool allows(inspector_request kind, std::string_view given) const;

private:
  std::string cookie_;
  bool loopback_;
};

/// Whether the host a listener binds is loopback only: "localhost", 127.0.0.0/8 or ::1.
bool is_loopback_host(std::string_view host);

/// A new cookie: 64 hex digits of the system's random generator.
std::string make_inspector_cookie();

} // namespace qtc
