// Whether an outbound TCP connection was ever established, asked of a duplicate of its socket
// after the connection ended. A peer that accepts, reads our first bytes and resets the
// connection (a TLS-only server receiving Noise) must not look like a refused connection: the
// first is a transport answer (fall back to TLS), the second a dead address.
#pragma once

#include <cstdint>

namespace qtc {

/// True if the peer acknowledged any byte we sent or the socket is still established.
bool tcp_was_established(int fd);

} // namespace qtc
