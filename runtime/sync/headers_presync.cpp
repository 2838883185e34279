#include "runtime/sync/headers_presync.hpp"

#include "messages/p2p.hpp"
#include "runtime/chain/pow.hpp"

#include <algorithm>

namespace qtc {

namespace {

/// The target of `bits` as a number, if the encoding is valid.
std::optional<uint256> target_of(std::uint32_t bits) {
  auto t = decode_compact(bits);
  if (!t)
    return std::nullopt;
  return uint256::from_big_endian(*t);
}

/// `target` scaled by `num / den`, capped at the limit, rounded through its compact encoding
/// (the comparison is between what a header can carry).
uint256 scaled_compact(const uint256& target, std::int64_t num, std::int64_t den,
                       const uint256& limit) {
  auto x = target.times(static_cast<std::uint64_t>(num)) / uint256{static_cast<std::uint64_t>(den)};
  if (x > limit)
    x = limit;
  return target_of(encode_compact(x.to_big_endian())).value_or(limit);
}

/// The largest number of headers that can follow a header whose median time past is `mtp` by
/// `now`: the median-time-past rule lets the time advance by one second every six headers.
std::uint64_t max_headers_since(const chain_params& p, std::int64_t mtp, std::int64_t now) {
  auto seconds = std::max<std::int64_t>(0, now - mtp + p.max_future_block_time);
  return 6 * static_cast<std::uint64_t>(seconds);
}

} // namespace

bool permitted_difficulty_transition(const chain_params& params, std::uint32_t height,
                                     std::uint32_t old_bits, std::uint32_t new_bits) {
  if (params.retarget_interval == 0 || height % params.retarget_interval != 0)
    return old_bits == new_bits;
  auto old_target = target_of(old_bits);
  auto new_target = target_of(new_bits);
  if (!old_target || !new_target)
    return false;
  auto timespan = static_cast<std::int64_t>(params.retarget_interval) * params.target_spacing;
  auto easiest = scaled_compact(*old_target, timespan * 4, timespan, params.pow_limit);
  auto hardest = scaled_compact(*old_target, timespan / 4, timespan, params.pow_limit);
  return *new_target <= easiest && *new_target >= hardest;
}

std::string to_string(headers_presync::phase x) {
  switch (x) {
  case headers_presync::phase::presync:
    return "presync";
  case headers_presync::phase::redownload:
    return "redownload";
  case headers_presync::phase::done:
    return "done";
  }
  return "phase(" + std::to_string(static_cast<int>(x)) + ")";
}

headers_presync::headers_presync(const chain_params& params, const header_node& start,
                                 std::int64_t start_mtp, uint256 minimum_work, std::int64_t now,
                                 const std::array<std::uint8_t, 16>& salt, config cfg)
    : params_(params), start_(&start), minimum_work_(std::move(minimum_work)), cfg_(cfg),
      salt_(salt) {
  cfg_.commitment_period = std::max<std::uint32_t>(cfg_.commitment_period, 1);
  std::array<std::uint8_t, 1> tag{0};
  offset_ = static_cast<std::uint32_t>(siphash24(salt_, tag) % cfg_.commitment_period);
  max_commitments_ = max_headers_since(params_, start_mtp, now) / cfg_.commitment_period;
  presync_last_ = tip{start.hash, start.height, start.header.bits, start.chain_work};
  redownload_last_ = presync_last_;
}

const hash256& headers_presync::locator_head() const {
  return phase_ == phase::redownload ? redownload_last_.hash : presync_last_.hash;
}

std::size_t headers_presync::memory_bytes() const {
  return commitments_.capacity() / 8 + buffer_.size() * sizeof(block_header);
}

bool headers_presync::commitment_height(std::uint32_t height) const {
  return height % cfg_.commitment_period == offset_;
}

bool headers_presync::commitment_bit(const hash256& hash) const {
  return (siphash24(salt_, hash) & 1) != 0;
}

/// Whether `h` (hashing to `hash`) may follow `last`: it connects, meets its target, and its
/// difficulty is a permitted step from its parent's.
bool headers_presync::extends(const tip& last, const block_header& h, const hash256& hash,
                              std::string& error) const {
  auto height = last.height + 1;
  if (h.prev_block != last.hash) {
    error = "non-continuous headers at height " + std::to_string(height);
    return false;
  }
  if (!check_proof_of_work(hash, h.bits, params_.pow_limit.to_big_endian())) {
    error = "invalid header at height " + std::to_string(height) + ": bad_proof_of_work";
    return false;
  }
  if (!permitted_difficulty_transition(params_, height, last.bits, h.bits)) {
    error = "invalid header at height " + std::to_string(height) + ": bad_difficulty";
    return false;
  }
  return true;
}

bool headers_presync::take_presync(const block_header& h, std::string& error) {
  auto hash = block_hash(h);
  if (!extends(presync_last_, h, hash, error))
    return false;
  auto height = presync_last_.height + 1;
  if (commitment_height(height)) {
    if (commitments_.size() >= max_commitments_) {
      error =
          "low-work headers chain longer than time allows (height " + std::to_string(height) + ")";
      return false;
    }
    commitments_.push_back(commitment_bit(hash));
  }
  presync_last_ = tip{hash, height, h.bits, presync_last_.work + work_of_bits(h.bits)};
  if (presync_last_.work >= minimum_work_)
    phase_ = phase::redownload; // worth keeping: ask for it again from the start
  return true;
}

bool headers_presync::take_redownload(const block_header& h, std::string& error, bool& misbehaved) {
  auto hash = block_hash(h);
  if (!extends(redownload_last_, h, hash, error))
    return false;
  auto height = redownload_last_.height + 1;
  // Past the threshold the chain is worth keeping whatever follows (and presync stopped there).
  if (!release_all_ && commitment_height(height)) {
    if (next_commitment_ >= commitments_.size()) {
      misbehaved = false;
      error = "redownloaded chain runs past the presynced one at height " + std::to_string(height);
      return false;
    }
    if (commitments_[next_commitment_++] != commitment_bit(hash)) {
      misbehaved = false;
      error =
          "redownloaded header at height " + std::to_string(height) + " is not the presynced one";
      return false;
    }
  }
  redownload_last_ = tip{hash, height, h.bits, redownload_last_.work + work_of_bits(h.bits)};
  buffer_.push_back(h);
  if (redownload_last_.work >= minimum_work_)
    release_all_ = true;
  return true;
}

void headers_presync::release(step& out) {
  while (!buffer_.empty() && (release_all_ || buffer_.size() > cfg_.redownload_buffer)) {
    out.release.push_back(buffer_.front());
    buffer_.pop_front();
  }
}

headers_presync::step headers_presync::process(std::span<const block_header> headers, bool full) {
  step out;
  auto fail = [&](bool misbehaved) {
    out.ok = false;
    out.misbehaved = misbehaved;
    phase_ = phase::done;
    buffer_.clear();
    out.release.clear(); // nothing of a chain that failed is kept
    out.request_more = false;
    return out;
  };
  if (phase_ == phase::presync) {
    for (const auto& h : headers) {
      if (!take_presync(h, out.error))
        return fail(true);
      if (phase_ == phase::redownload)
        break; // the rest of the message comes again in redownload
    }
    out.request_more = phase_ == phase::redownload || full;
    if (!out.request_more)
      phase_ = phase::done; // the peer has no more: a chain without enough work, dropped
    return out;
  }
  if (phase_ != phase::redownload) {
    out.error = "the headers sync is over";
    return fail(false);
  }
  for (const auto& h : headers) {
    bool misbehaved = true;
    if (!take_redownload(h, out.error, misbehaved))
      return fail(misbehaved);
  }
  release(out);
  if (release_all_ && buffer_.empty()) {
    phase_ = phase::done; // the whole chain up to the threshold is released
  } else if (full) {
    out.request_more = true;
  } else {
    // It presented a chain with enough work and now will not serve it again.
    out.error = "the peer stopped serving the presynced chain at height "
                + std::to_string(redownload_last_.height);
    return fail(false);
  }
  return out;
}

} // namespace qtc
