#include "runtime/sync/tx_pool.hpp"

#include "messages/p2p.hpp" // max_money

#include <algorithm>
#include <cmath>

namespace qtc {

namespace {

/// Core's MIN_STANDARD_TX_NONWITNESS_SIZE.
constexpr std::size_t min_standard_tx_size = 65;

bool is_null(const outpoint& o) {
  return o.index == 0xffffffff && o.txid == hash256{};
}

} // namespace

std::string to_string(tx_rejection x) {
  switch (x) {
  case tx_rejection::none:
    return "none";
  case tx_rejection::coinbase:
    return "coinbase";
  case tx_rejection::no_inputs:
    return "no_inputs";
  case tx_rejection::no_outputs:
    return "no_outputs";
  case tx_rejection::null_prevout:
    return "null_prevout";
  case tx_rejection::duplicate_input:
    return "duplicate_input";
  case tx_rejection::bad_output_value:
    return "bad_output_value";
  case tx_rejection::too_small:
    return "too_small";
  case tx_rejection::too_large:
    return "too_large";
  case tx_rejection::already_have:
    return "already_have";
  case tx_rejection::conflict:
    return "conflict";
  case tx_rejection::pool_full:
    return "pool_full";
  }
  return "tx_rejection(" + std::to_string(static_cast<int>(x)) + ")";
}

tx_rejection check_transaction(const transaction& tx, std::size_t serialized_size,
                               std::size_t max_tx_size) {
  if (tx.inputs.empty())
    return tx_rejection::no_inputs;
  if (tx.outputs.empty())
    return tx_rejection::no_outputs;
  if (tx.is_coinbase())
    return tx_rejection::coinbase;
  if (serialized_size < min_standard_tx_size)
    return tx_rejection::too_small;
  if (serialized_size > max_tx_size)
    return tx_rejection::too_large;
  std::int64_t total = 0;
  for (const auto& out : tx.outputs) {
    if (out.value < 0 || out.value > max_money)
      return tx_rejection::bad_output_value;
    total += out.value; // both at most max_money: no overflow
    if (total > max_money)
      return tx_rejection::bad_output_value;
  }
  std::vector<outpoint> spends;
  spends.reserve(tx.inputs.size());
  for (const auto& in : tx.inputs) {
    if (is_null(in.prevout))
      return tx_rejection::null_prevout;
    spends.push_back(in.prevout);
  }
  std::sort(spends.begin(), spends.end(), [](const outpoint& a, const outpoint& b) {
    return a.txid != b.txid ? a.txid < b.txid : a.index < b.index;
  });
  if (std::adjacent_find(spends.begin(), spends.end()) != spends.end())
    return tx_rejection::duplicate_input;
  return tx_rejection::none;
}

std::int64_t fee_rate(std::int64_t fee, std::size_t size) {
  if (size == 0)
    return 0;
  // fee <= max_money (2.1e15), so fee * 1000 stays far below 2^63.
  return fee * 1000 / static_cast<std::int64_t>(size);
}

tx_pool::tx_pool(limits l) : limits_(l) {}

bool tx_pool::may_evict(const rank& victim, const rank& newcomer) {
  if (victim.known != newcomer.known)
    return !victim.known; // an unknown fee gives way to a known one, never the other way
  if (!victim.known)
    return true;                      // both unknown: the older gives way
  return victim.rate < newcomer.rate; // both known: only for a strictly better rate
}

tx_pool::rank tx_pool::rank_of(const entry& e) {
  return rank{e.rate.has_value(), e.rate.value_or(0), e.sequence, e.id};
}

tx_pool::add_result tx_pool::add(transaction tx, std::optional<std::int64_t> fee) {
  add_result result;
  auto raw = serialize(tx);
  auto raw_size = raw.size();
  result.id = sha256d(raw);
  result.rejection = check_transaction(tx, raw_size, limits_.max_tx_size);
  if (result.rejection != tx_rejection::none)
    return result;
  if (by_id_.contains(result.id)) {
    result.rejection = tx_rejection::already_have;
    return result;
  }
  for (const auto& in : tx.inputs)
    if (spent_.contains(in.prevout)) {
      result.rejection = tx_rejection::conflict;
      return result;
    }
  if (fee && (*fee < 0 || *fee > max_money))
    fee.reset(); // not a fee anything could pay: treat it as unknown

  entry e;
  e.id = result.id;
  e.size = raw_size;
  e.fee = fee;
  if (fee)
    e.rate = fee_rate(*fee, raw_size);
  e.sequence = next_sequence_++;
  auto newcomer = rank_of(e);

  // Find what would have to go, lowest rank first, without touching the pool yet: a newcomer
  // ranking below any of them is refused and the pool stays as it was.
  if (raw_size > limits_.max_bytes || limits_.max_count == 0) {
    result.rejection = tx_rejection::pool_full;
    return result;
  }
  std::vector<hash256> victims;
  auto count = by_id_.size();
  auto bytes = bytes_;
  for (auto it = eviction_.begin();
       it != eviction_.end()
       && (count + 1 > limits_.max_count || bytes + raw_size > limits_.max_bytes);
       ++it) {
    if (!may_evict(*it, newcomer)) {
      result.rejection = tx_rejection::pool_full;
      return result;
    }
    victims.push_back(it->id);
    --count;
    bytes -= by_id_.at(it->id).size;
  }
  for (const auto& id : victims)
    erase(by_id_.find(id));
  result.evicted = std::move(victims);

  e.tx = std::move(tx);
  for (const auto& in : e.tx.inputs)
    spent_.emplace(in.prevout, e.id);
  eviction_.insert(newcomer);
  bytes_ += raw_size;
  by_id_.emplace(e.id, std::move(e));
  return result;
}

void tx_pool::erase(std::map<hash256, entry>::iterator it) {
  const auto& e = it->second;
  for (const auto& in : e.tx.inputs) {
    auto s = spent_.find(in.prevout);
    if (s != spent_.end() && s->second == e.id)
      spent_.erase(s);
  }
  eviction_.erase(rank_of(e));
  bytes_ -= e.size;
  by_id_.erase(it);
}

bool tx_pool::remove(const hash256& id) {
  auto it = by_id_.find(id);
  if (it == by_id_.end())
    return false;
  erase(it);
  return true;
}

std::size_t tx_pool::remove_for_block(const block& b) {
  std::size_t removed = 0;
  if (by_id_.empty())
    return removed; // the common case during initial sync: no hashing at all
  for (const auto& tx : b.txs) {
    if (remove(txid(tx)))
      ++removed;
    if (tx.is_coinbase())
      continue;
    for (const auto& in : tx.inputs) {
      // Whatever else spends this outpoint is now a double spend.
      auto s = spent_.find(in.prevout);
      if (s != spent_.end() && remove(hash256{s->second}))
        ++removed;
    }
  }
  return removed;
}

const tx_pool::entry* tx_pool::find(const hash256& id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &it->second;
}

void known_txs::insert(const hash256& id) {
  if (capacity_ == 0 || !set_.insert(id).second)
    return;
  if (order_.size() < capacity_) {
    order_.push_back(id);
    return;
  }
  set_.erase(order_[oldest_]);
  order_[oldest_] = id;
  oldest_ = (oldest_ + 1) % capacity_;
}

std::int64_t round_fee_filter(std::int64_t rate, std::uint64_t draw) {
  constexpr double first = 500;   // half of Core's default incremental relay fee (1000/kB)
  constexpr double last = 1e7;    // Core's MAX_FILTER_FEERATE
  constexpr double spacing = 1.1; // Core's FEE_FILTER_SPACING
  // The buckets: 0, then first * spacing^n while <= last. Find the smallest one >= rate.
  double below = 0;
  double at_or_above = 0;
  bool found = rate <= 0;
  for (double b = first; !found && b <= last; b *= spacing) {
    if (b >= static_cast<double>(rate)) {
      at_or_above = b;
      found = true;
    } else {
      below = b;
    }
  }
  // Above every bucket: the highest one. Otherwise down one bucket two times out of three.
  if (!found || (rate > 0 && draw % 3 != 0))
    return static_cast<std::int64_t>(below);
  return static_cast<std::int64_t>(at_or_above);
}

} // namespace qtc
