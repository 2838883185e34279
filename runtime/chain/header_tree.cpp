#include "runtime/chain/header_tree.hpp"

#include "messages/primitives/hex.hpp"

#include <algorithm>
#include <array>

namespace qtc {

namespace {

/// A 64-hex-digit big-endian number from the chain spec (validated by its loader; zero if not).
uint256 number_of_hex(const std::string& hex) {
  uint256_be bytes{};
  auto raw = from_hex(hex);
  if (raw && raw->size() == 32)
    std::copy(raw->begin(), raw->end(), bytes.begin());
  return uint256::from_big_endian(bytes);
}

} // namespace

chain_params chain_params::from(const chain_spec& spec) {
  chain_params p;
  p.pow_limit = number_of_hex(spec.pow_limit_hex);
  p.retarget_interval = spec.retarget_interval;
  p.target_spacing = spec.target_spacing.count();
  p.max_future_block_time = spec.max_future_block_time.count();
  p.median_time_span = spec.median_time_span;
  p.minimum_chain_work = number_of_hex(spec.minimum_chain_work_hex);
  return p;
}

std::string to_string(header_rejection x) {
  switch (x) {
  case header_rejection::none:
    return "none";
  case header_rejection::unknown_parent:
    return "unknown_parent";
  case header_rejection::bad_proof_of_work:
    return "bad_proof_of_work";
  case header_rejection::bad_difficulty:
    return "bad_difficulty";
  case header_rejection::time_too_old:
    return "time_too_old";
  case header_rejection::time_too_new:
    return "time_too_new";
  }
  return "header_rejection(" + std::to_string(static_cast<int>(x)) + ")";
}

header_tree::header_tree(chain_params params, const block_header& genesis)
    : params_(std::move(params)) {
  auto node = std::make_unique<header_node>();
  node->header = genesis;
  node->hash = block_hash(genesis);
  node->height = 0;
  node->chain_work = work_of(genesis.bits);
  genesis_ = best_ = node.get();
  nodes_.emplace(node->hash, std::move(node));
}

uint256 header_tree::work_of(std::uint32_t bits) const {
  if (auto i = work_cache_.find(bits); i != work_cache_.end())
    return i->second;
  auto work = work_of_bits(bits);
  work_cache_.emplace(bits, work);
  return work;
}

const header_node* header_tree::find(const hash256& hash) const {
  auto i = nodes_.find(hash);
  return i == nodes_.end() ? nullptr : i->second.get();
}

namespace {

/// `n` with its lowest set bit cleared.
std::uint32_t clear_lowest_bit(std::uint32_t n) {
  return n & (n - 1);
}

/// Where a node's skip pointer lands: heights whose binary forms share a long prefix, so that
/// from any node a walk by skip pointers (and parents where a skip would overshoot) reaches any
/// ancestor in O(log n) steps. The same deterministic skip list as Bitcoin Core's block index:
/// even heights clear their lowest bit, odd ones land near the even height below them.
std::uint32_t skip_height(std::uint32_t height) {
  if (height < 2)
    return 0;
  if ((height & 1) == 0)
    return clear_lowest_bit(height);
  return clear_lowest_bit(clear_lowest_bit(height - 1)) + 1;
}

} // namespace

const header_node* header_tree::ancestor(const header_node& node, std::uint32_t height) const {
  if (height > node.height)
    return nullptr;
  const header_node* n = &node;
  while (n->height > height) {
    // Take the skip unless it overshoots, or the parent's skip gets closer without overshooting
    // (then one parent step and that skip beat this skip and the walk back up from it).
    auto here = skip_height(n->height);
    auto from_parent = skip_height(n->height - 1);
    bool take = n->skip != nullptr
                && (here == height
                    || (here > height && !(from_parent + 2 < here && from_parent >= height)));
    n = take ? n->skip : n->parent;
  }
  return n;
}

std::int64_t header_tree::median_time_past(const header_node& node) const {
  std::array<std::int64_t, 101> times; // median_time_span ≤ 101 (chain spec)
  std::size_t count = 0;
  const header_node* n = &node;
  for (; count < params_.median_time_span && n != nullptr; ++count, n = n->parent)
    times[count] = n->header.time;
  std::sort(times.begin(), times.begin() + static_cast<std::ptrdiff_t>(count));
  return times[count / 2];
}

std::uint32_t header_tree::expected_bits(const header_node& parent) const {
  auto interval = params_.retarget_interval;
  if (interval == 0 || (parent.height + 1) % interval != 0)
    return parent.header.bits;
  // Bitcoin's rule, including its off-by-one: the period spans interval - 1 blocks.
  const header_node* first = ancestor(parent, parent.height - (interval - 1));
  std::int64_t expected = static_cast<std::int64_t>(interval) * params_.target_spacing;
  std::int64_t actual = static_cast<std::int64_t>(parent.header.time) - first->header.time;
  actual = std::clamp(actual, expected / 4, expected * 4);
  auto old_target = decode_compact(parent.header.bits);
  if (!old_target)
    return parent.header.bits;
  auto target = uint256::from_big_endian(*old_target).times(static_cast<std::uint64_t>(actual))
                / uint256{static_cast<std::uint64_t>(expected)};
  if (target > params_.pow_limit)
    target = params_.pow_limit;
  return encode_compact(target.to_big_endian());
}

std::optional<headers_fault> check_headers_alone(std::span<const block_header> headers,
                                                 const uint256& pow_limit) {
  auto limit = pow_limit.to_big_endian();
  hash256 previous{};
  for (std::size_t k = 0; k < headers.size(); ++k) {
    const auto& h = headers[k];
    if (k > 0 && h.prev_block != previous)
      return headers_fault{k, header_rejection::unknown_parent};
    previous = block_hash(h);
    if (!check_proof_of_work(previous, h.bits, limit))
      return headers_fault{k, header_rejection::bad_proof_of_work};
  }
  return std::nullopt;
}

header_tree::result header_tree::accept(const block_header& h, std::int64_t now) {
  result r;
  auto hash = block_hash(h);
  if (auto* known = find(hash)) {
    r.duplicate = true;
    r.node = known;
    return r;
  }
  const header_node* parent = find(h.prev_block);
  if (parent == nullptr) {
    r.rejection = header_rejection::unknown_parent;
    return r;
  }
  if (!check_proof_of_work(hash, h.bits, params_.pow_limit.to_big_endian())) {
    r.rejection = header_rejection::bad_proof_of_work;
    return r;
  }
  if (h.bits != expected_bits(*parent)) {
    r.rejection = header_rejection::bad_difficulty;
    return r;
  }
  if (static_cast<std::int64_t>(h.time) <= median_time_past(*parent)) {
    r.rejection = header_rejection::time_too_old;
    return r;
  }
  if (static_cast<std::int64_t>(h.time) > now + params_.max_future_block_time) {
    r.rejection = header_rejection::time_too_new;
    return r;
  }
  auto node = std::make_unique<header_node>();
  node->header = h;
  node->hash = hash;
  node->height = parent->height + 1;
  node->chain_work = parent->chain_work + work_of(h.bits);
  node->parent = parent;
  node->skip = ancestor(*parent, skip_height(node->height));
  r.node = node.get();
  if (node->chain_work > best_->chain_work) {
    best_ = node.get();
    r.new_best = true;
  }
  nodes_.emplace(hash, std::move(node));
  return r;
}

std::vector<hash256> header_tree::locator(const header_node& from) const {
  std::vector<hash256> out;
  std::uint32_t step = 1;
  const header_node* n = &from;
  while (n != nullptr) {
    out.push_back(n->hash);
    if (n->height == 0)
      break;
    std::uint32_t next = n->height > step ? n->height - step : 0;
    n = ancestor(*n, next);
    if (out.size() > 10) // as Bitcoin Core: eleven single steps, then doubling
      step *= 2;
  }
  return out;
}

const header_node& header_tree::fork_point(const header_node& a, const header_node& b) const {
  const header_node* x = &a;
  const header_node* y = &b;
  if (x->height > y->height)
    x = ancestor(*x, y->height);
  else if (y->height > x->height)
    y = ancestor(*y, x->height);
  while (x != y) {
    x = x->parent;
    y = y->parent;
  }
  return *x;
}

} // namespace qtc
