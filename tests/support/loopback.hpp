// Blocking loopback TCP for tests that drive channels over real sockets (test code may block).
// Connecting is support/process's tcp_connect.
#pragma once

#include "messages/primitives/byte_io.hpp"

#include <chrono>
#include <cstdint>

namespace qtc::test {

/// A listening socket on 127.0.0.1 with a kernel-chosen port, written to `port`.
int listen_loopback(std::uint16_t& port);

/// Writes all of `b`; false when the peer is gone.
bool send_all(int fd, std::span<const std::uint8_t> b);

/// Reads what is there within `timeout` (appending to `out`): the byte count, 0 at end of
/// stream, -1 on timeout or error.
long receive_some(int fd, bytes& out, std::chrono::milliseconds timeout);

} // namespace qtc::test
