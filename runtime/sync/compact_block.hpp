// BIP152 compact blocks, both sides, without I/O.
//
// Sender: make_compact_block() turns a block into a cmpctblock (header, a random nonce, the
// 6-byte short id of every transaction but the prefilled coinbase); answer_getblocktxn() picks the
// requested transactions of a block for a blocktxn.
//
// Receiver: partial_block follows Bitcoin Core's PartiallyDownloadedBlock (the rules, not the
// code). init() checks the announcement, places the prefilled transactions and fills the other
// slots from the pool by short id; missing() / request() name what is still needed (a
// getblocktxn, indexes absolute here, differential on the wire: messages/p2p.cpp); fill() takes
// the blocktxn. Once every slot is filled the merkle root is recomputed from the txids and must
// match the header.
//
// Outcomes, and what the caller does:
//  * complete:   the block is rebuilt and commits to its header's merkle root; hand it to the
//                normal block checks (runtime/chain/block_check) like any downloaded block.
//  * need_txs:   send request() to the announcing peer and wait for its blocktxn.
//  * failed:     not the peer's fault, or not provably: two transactions of the announcement
//                share a short id, or the rebuilt block does not match its merkle root (a pool
//                transaction that collided with a block transaction's short id, or a mutated
//                block). Fetch the full block with getdata instead (Core does the same).
//  * invalid:    the peer broke the protocol: an empty announcement, more transactions than a
//                block may hold, prefilled indexes outside the block or not ascending, a
//                prefilled transaction without inputs, a blocktxn for another block or with the
//                wrong number of transactions. Treat as misbehaviour.
//
// Short ids (BIP152 version 1: this node has no witness data, so txid = wtxid):
// key = first 16 bytes of SHA-256(header || nonce as u64 LE), short id = SipHash-2-4(key, txid)
// & 0xffffffffffff. The SipHash, key and short-id functions live with the codec
// (messages/p2p.hpp) and are shared with the address manager.
#pragma once

#include "messages/p2p.hpp"
#include "runtime/sync/tx_pool.hpp"

#include <cstdint>
#include <optional>
#include <vector>

namespace qtc {

/// The compact-block protocol version this node speaks: 1 (txids; no segwit).
constexpr std::uint64_t compact_block_version = 1;

/// Indexes in getblocktxn and prefilled transactions stop at 65535 (BIP152, Core).
constexpr std::size_t max_compact_slots = 65536;

/// A cmpctblock for `b` with `nonce`: the coinbase (index 0) prefilled, every other transaction
/// as its short id. `b` must have at least its coinbase.
cmpctblock_message make_compact_block(const block& b, std::uint64_t nonce);

/// The transactions of `b` that `req` asks for, in its order; nullopt if an index is outside the
/// block (the requester misbehaved) or the hash is not `b`'s.
std::optional<blocktxn_message> answer_getblocktxn(const block& b, const getblocktxn_message& req);

class partial_block {
public:
  enum class status : std::uint8_t { complete, need_txs, failed, invalid };

  /// Reads the announcement and fills what the pool has. `max_txs` bounds the block's
  /// transaction count: pass the largest count a block of the chain's maximum size can hold
  /// (max size / min_tx_size), not the decoder's generous default, since every slot costs
  /// memory here. A block of more than 65536 transactions is `failed` (fetch it whole):
  /// getblocktxn cannot name indexes above 65535.
  status init(const cmpctblock_message& m, const tx_pool& pool, std::size_t max_txs);

  /// After need_txs: the blocktxn answering request().
  status fill(const blocktxn_message& m);

  /// The absolute indexes of the slots still empty, ascending.
  std::vector<std::uint32_t> missing() const;

  /// The getblocktxn for missing().
  getblocktxn_message request() const;

  /// The announced block's hash.
  const hash256& hash() const {
    return hash_;
  }

  /// Slots filled from the pool (for status and metrics: how well compact relay works).
  std::size_t from_pool() const {
    return from_pool_;
  }

  /// After complete: the block (moved out).
  block take();

private:
  status finish();

  hash256 hash_{};
  block_header header_{};
  std::vector<std::optional<transaction>> slots_;
  std::size_t from_pool_ = 0;
  bool done_ = false;
};

std::string to_string(partial_block::status x);

/// The peers we ask to push new blocks to us as cmpctblock without announcing them first (BIP152
/// high-bandwidth mode), picked as Bitcoin Core picks them: the (at most) three peers that most
/// recently were first to deliver a new valid block at our tip. Making a fourth one
/// high-bandwidth turns the longest-serving one back to low bandwidth, except that an inbound
/// newcomer never pushes out the last outbound peer (the next-oldest goes instead): an attacker
/// filling our inbound slots cannot take over block relay. Only peers that sent sendcmpct
/// version 1 are candidates (the caller checks), and only after initial sync.
class high_bandwidth_peers {
public:
  using peer_id = std::uint64_t;
  static constexpr std::size_t max_peers = 3;

  /// What to send: sendcmpct(high_bandwidth = true) to `enable`, (false) to `disable`.
  struct change {
    std::optional<peer_id> enable;
    std::optional<peer_id> disable;
    friend bool operator==(const change&, const change&) = default;
  };

  /// `peer` was first to deliver a new valid block.
  change delivered_first(peer_id peer, bool outbound);

  /// The peer is gone (no message needed).
  void remove(peer_id peer);

  /// Oldest first.
  std::vector<peer_id> peers() const;

private:
  struct member {
    peer_id id = 0;
    bool outbound = false;
  };
  std::vector<member> members_; ///< oldest first
};

} // namespace qtc
