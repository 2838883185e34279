#include "runtime/chain/block_check.hpp"

#include "runtime/chain/merkle.hpp"

#include <algorithm>
#include <unordered_set>

namespace qtc {

namespace {

constexpr std::int64_t max_money = 2'100'000'000'000'000;

struct txid_hasher {
  std::size_t operator()(const hash256& h) const noexcept {
    std::size_t x = 0;
    for (std::size_t i = 0; i < sizeof(x); ++i)
      x = x << 8 | h[i];
    return x;
  }
};

} // namespace

std::string to_string(block_rejection x) {
  switch (x) {
  case block_rejection::none:
    return "none";
  case block_rejection::no_transactions:
    return "no_transactions";
  case block_rejection::too_large:
    return "too_large";
  case block_rejection::first_not_coinbase:
    return "first_not_coinbase";
  case block_rejection::extra_coinbase:
    return "extra_coinbase";
  case block_rejection::bad_coinbase_script:
    return "bad_coinbase_script";
  case block_rejection::no_outputs:
    return "no_outputs";
  case block_rejection::bad_output_value:
    return "bad_output_value";
  case block_rejection::duplicate_txid:
    return "duplicate_txid";
  case block_rejection::bad_merkle_root:
    return "bad_merkle_root";
  }
  return "block_rejection(" + std::to_string(static_cast<int>(x)) + ")";
}

block_rejection check_block(const block& b, std::size_t serialized_size, std::size_t max_size) {
  if (b.txs.empty())
    return block_rejection::no_transactions;
  if (serialized_size > max_size)
    return block_rejection::too_large;
  if (!b.txs[0].is_coinbase())
    return block_rejection::first_not_coinbase;
  auto cb_script = b.txs[0].inputs[0].script_sig.size();
  if (cb_script < 2 || cb_script > 100)
    return block_rejection::bad_coinbase_script;
  std::vector<hash256> ids;
  ids.reserve(b.txs.size());
  std::unordered_set<hash256, txid_hasher> seen;
  for (std::size_t i = 0; i < b.txs.size(); ++i) {
    const auto& tx = b.txs[i];
    if (i > 0 && tx.is_coinbase())
      return block_rejection::extra_coinbase;
    if (tx.outputs.empty())
      return block_rejection::no_outputs;
    std::int64_t total = 0;
    for (const auto& out : tx.outputs) {
      if (out.value < 0 || out.value > max_money)
        return block_rejection::bad_output_value;
      total += out.value;
      if (total > max_money)
        return block_rejection::bad_output_value;
    }
    auto id = txid(tx);
    if (!seen.insert(id).second)
      return block_rejection::duplicate_txid;
    ids.push_back(id);
  }
  auto merkle = compute_merkle_root(std::move(ids));
  if (merkle.mutated)
    return block_rejection::duplicate_txid;
  if (merkle.root != b.header.merkle_root)
    return block_rejection::bad_merkle_root;
  return block_rejection::none;
}

} // namespace qtc
