#include "runtime/sync/compact_block.hpp"

#include "runtime/chain/merkle.hpp"

#include <algorithm>

namespace qtc {

cmpctblock_message make_compact_block(const block& b, std::uint64_t nonce) {
  cmpctblock_message m;
  m.header = b.header;
  m.nonce = nonce;
  if (b.txs.empty())
    return m;
  m.prefilled.push_back(prefilled_tx{0, b.txs[0]});
  auto key = short_id_key(b.header, nonce);
  m.short_ids.reserve(b.txs.size() - 1);
  for (std::size_t i = 1; i < b.txs.size(); ++i)
    m.short_ids.push_back(make_short_id(key, txid(b.txs[i])));
  return m;
}

std::optional<blocktxn_message> answer_getblocktxn(const block& b, const getblocktxn_message& req) {
  auto hash = block_hash(b.header);
  if (req.block_hash != hash)
    return std::nullopt;
  blocktxn_message m;
  m.block_hash = hash;
  m.txs.reserve(std::min(req.indexes.size(), b.txs.size()));
  for (auto i : req.indexes) {
    if (i >= b.txs.size())
      return std::nullopt;
    m.txs.push_back(b.txs[i]);
  }
  return m;
}

std::string to_string(partial_block::status x) {
  switch (x) {
  case partial_block::status::complete:
    return "complete";
  case partial_block::status::need_txs:
    return "need_txs";
  case partial_block::status::failed:
    return "failed";
  case partial_block::status::invalid:
    return "invalid";
  }
  return "status(" + std::to_string(static_cast<int>(x)) + ")";
}

partial_block::status partial_block::init(const cmpctblock_message& m, const tx_pool& pool,
                                          std::size_t max_txs) {
  header_ = m.header;
  hash_ = block_hash(m.header);
  slots_.clear();
  from_pool_ = 0;
  done_ = false;
  auto total = m.short_ids.size() + m.prefilled.size();
  if (total == 0 || total > max_txs)
    return status::invalid;
  if (total > max_compact_slots)
    return status::failed;
  slots_.resize(total);

  // Prefilled transactions at their absolute indexes, strictly ascending, inside the block.
  for (std::size_t i = 0; i < m.prefilled.size(); ++i) {
    const auto& p = m.prefilled[i];
    if (p.index >= total || (i > 0 && p.index <= m.prefilled[i - 1].index) || p.tx.inputs.empty())
      return status::invalid;
    slots_[p.index] = p.tx;
  }

  // The short ids take the other slots in order. Sorted for lookup: a peer cannot degrade a
  // sorted vector the way it could flood one bucket of a hash table.
  std::vector<std::pair<short_id, std::uint32_t>> ids;
  ids.reserve(m.short_ids.size());
  std::size_t next = 0;
  for (std::uint32_t slot = 0; slot < total; ++slot)
    if (!slots_[slot])
      ids.emplace_back(m.short_ids[next++], slot);
  std::sort(ids.begin(), ids.end());
  for (std::size_t i = 1; i < ids.size(); ++i)
    if (ids[i].first == ids[i - 1].first)
      return status::failed; // two block transactions share a short id: cannot tell them apart

  // Fill from the pool. A slot two pool transactions match is emptied again and stays empty
  // (it will be requested): picking one would be a guess.
  auto key = short_id_key(m.header, m.nonce);
  std::vector<bool> matched(total, false);
  pool.for_each([&](const tx_pool::entry& e) {
    auto id = make_short_id(key, e.id);
    auto it = std::lower_bound(ids.begin(), ids.end(), std::make_pair(id, std::uint32_t{0}));
    if (it == ids.end() || it->first != id)
      return;
    auto slot = it->second;
    if (!matched[slot]) {
      matched[slot] = true;
      slots_[slot] = e.tx;
      ++from_pool_;
    } else if (slots_[slot]) {
      slots_[slot].reset();
      --from_pool_;
    }
  });
  return finish();
}

partial_block::status partial_block::fill(const blocktxn_message& m) {
  if (slots_.empty() || done_ || m.block_hash != hash_)
    return status::invalid;
  auto want = missing();
  if (m.txs.size() != want.size())
    return status::invalid;
  for (std::size_t i = 0; i < want.size(); ++i)
    slots_[want[i]] = m.txs[i];
  return finish();
}

std::vector<std::uint32_t> partial_block::missing() const {
  std::vector<std::uint32_t> out;
  for (std::uint32_t i = 0; i < slots_.size(); ++i)
    if (!slots_[i])
      out.push_back(i);
  return out;
}

getblocktxn_message partial_block::request() const {
  return getblocktxn_message{hash_, missing()};
}

partial_block::status partial_block::finish() {
  std::vector<hash256> ids;
  ids.reserve(slots_.size());
  for (const auto& s : slots_) {
    if (!s)
      return status::need_txs;
    ids.push_back(txid(*s));
  }
  auto merkle = compute_merkle_root(std::move(ids));
  if (merkle.mutated || merkle.root != header_.merkle_root)
    return status::failed;
  done_ = true;
  return status::complete;
}

block partial_block::take() {
  block b;
  b.header = header_;
  b.txs.reserve(slots_.size());
  for (auto& s : slots_)
    if (s)
      b.txs.push_back(std::move(*s));
  slots_.clear();
  done_ = false;
  return b;
}

high_bandwidth_peers::change high_bandwidth_peers::delivered_first(peer_id peer, bool outbound) {
  auto it =
      std::find_if(members_.begin(), members_.end(), [&](const member& m) { return m.id == peer; });
  if (it != members_.end()) {
    // Already high-bandwidth: it becomes the most recent.
    auto m = *it;
    members_.erase(it);
    members_.push_back(m);
    return {};
  }
  change c;
  c.enable = peer;
  if (members_.size() >= max_peers) {
    auto victim = members_.begin();
    auto outbound_members =
        std::count_if(members_.begin(), members_.end(), [](const member& m) { return m.outbound; });
    if (!outbound && outbound_members == 1 && victim->outbound)
      ++victim; // keep the last outbound peer
    c.disable = victim->id;
    members_.erase(victim);
  }
  members_.push_back(member{peer, outbound});
  return c;
}

void high_bandwidth_peers::remove(peer_id peer) {
  std::erase_if(members_, [&](const member& m) { return m.id == peer; });
}

std::vector<high_bandwidth_peers::peer_id> high_bandwidth_peers::peers() const {
  std::vector<peer_id> out;
  for (const auto& m : members_)
    out.push_back(m.id);
  return out;
}

} // namespace qtc
