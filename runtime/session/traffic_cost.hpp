// What a message received from a ready peer costs against its address's rate budget
// (runtime/net/rate_budget; docs/protocol.md, "Rate limits").
//
// The budget limits what a peer sends unasked. Three kinds of message are free:
//   - answers and block announcements (headers, block, blocktxn, cmpctblock, notfound, pong):
//     the node asked for them or needs them to follow the chain, and charging them would make
//     sync impossible. The sync coordinator checks that they fit what was asked or announced
//     (unrequested or non-connecting data is an offence of its own);
//   - requests for chain data the node serves (getdata, getblocktxn): a syncing node sends one
//     for about every block it downloads, thousands a minute. What they cost the node is
//     bounded elsewhere: answers go out only as fast as the peer reads them (the serving pace),
//     and at most 50,000 wait per peer.
// Every other message costs one message and its frame's bytes (24-byte header and payload):
// ping, addr, addrv2, inv, tx, getheaders, getblocks, getaddr, feature negotiation, unknown
// commands — with one exception: a getheaders that continues the peer's headers sync (its first
// locator hash is the last header of the full 2,000-header answer the session sent it last) is
// free, once per such answer. A node syncing a long chain sends one per 2,000 headers; at 100
// messages a minute a 1 M-header chain from one peer would otherwise take minutes of throttling
// (the serving node's budget, not the syncing node's, is the limit). A flood of other getheaders
// (from genesis, at the tip, repeated) still costs.
#pragma once

#include "messages/primitives/hash.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace qtc {

struct traffic_cost {
  std::uint32_t messages = 0;
  std::uint64_t bytes = 0;
  bool free() const {
    return messages == 0 && bytes == 0;
  }
};

/// The cost of a frame with `command` and a payload of `payload_size` bytes.
traffic_cost cost_of(std::string_view command, std::size_t payload_size);

/// The hash of the last header of a `headers` payload holding the protocol's maximum (2,000,
/// each header followed by its zero transaction count), or nothing for any other payload.
std::optional<hash256> last_of_full_headers(std::span<const std::uint8_t> payload);

/// The first locator hash of a `getheaders` payload, or nothing if it has none or is malformed.
std::optional<hash256> first_locator_hash(std::span<const std::uint8_t> payload);

} // namespace qtc
