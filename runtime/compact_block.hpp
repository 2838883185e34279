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
//                normal block checks (runtime/block_check) like any downloaded block.
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
#include "runtime/tx_pool.hpp"

#include <cstdint>
#include <optional>
#include <vector>

namespace qtc {

/// The compact-block protocol version this node speaks: 1 (txids; no segwit).
constexpr std::uint64_t compact_block_version = 1;

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
  /// transaction count (as the decoder's max_block_txs does).
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

} // namespace qtc
