// Starting an outbound TCP connection without blocking: the socket is non-blocking, so connect()
// returns at once (EINPROGRESS) and the link broker that adopts the socket learns the outcome
// from the multiplexer — bytes written (connected) or the connection closed (refused,
// unreachable). The session's connect timeout bounds the wait.
#pragma once

#include "runtime/net/ip_address.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

namespace qtc {

/// A connecting socket's file descriptor, or why none could be started. With `local`, the
/// socket is bound to that address first (a node listening on 127.0.0.5 also connects from it,
/// so that peers on a loopback test network see one address per node).
std::variant<int, std::string> start_tcp_connect(const ip_bytes& ip, std::uint16_t port,
                                                 const std::optional<ip_bytes>& local = {});

} // namespace qtc
