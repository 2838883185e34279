// Low-work header chains (runtime/sync/headers_presync, Bitcoin Core's headers presync): a
// peer's headers that fork from our tree and lead to less work than anti_dos_work() are not
// stored. A full message starts a presync of the peer's chain, which is stored only once it has
// proved enough work and been sent again; a short one is ignored, and a peer that keeps sending
// them is dropped as header spam.
#include "actors/support/status_fields.hpp"
#include "actors/sync_state.hpp"

#include <algorithm>

namespace qtc {

namespace {

/// Blocks of work below our best header a fork may lead to and still be stored (a day's worth:
/// Core's anti-DoS buffer, so that honest short forks near the tip are always kept).
constexpr std::uint32_t anti_dos_blocks = 144;
/// Low-work headers messages a peer may send without delivering anything useful, before it is
/// dropped as header spam (as many as headers messages that do not connect).
constexpr std::uint32_t max_low_work_messages = 10;

/// Asks `p` for the headers after its presync's last: that hash, then our locator from where
/// its chain forks (an honest peer finds the first on its best chain).
void request_presync_headers(sync_pointer self, sync_peer& p) {
  auto locator = self->state.tree->locator(p.presync->start());
  if (p.presync->locator_head() != p.presync->start().hash)
    locator.insert(locator.begin(), p.presync->locator_head());
  send_getheaders(self, p, std::move(locator));
}

/// A short low-work headers message (or a second chain while one is followed): not stored; the
/// peer is dropped after max_low_work_messages of them.
void ignore_low_work(sync_pointer self, sync_peer& p, const header_node& start) {
  auto& st = self->state;
  ++st.low_work_ignored;
  st.log.debug("low-work headers ignored", {{"peer", std::to_string(p.info.id)},
                                            {"fork-height", std::to_string(start.height)}});
  if (++p.low_work_messages > max_low_work_messages)
    disconnect(self, p.info.id, close_reason::misbehaviour, "too many low-work headers messages");
}

/// The presync ended without a fault of the peer: dropped below the threshold, or the peer
/// changed or stopped serving its chain. Headers sync goes on with the others.
void end_presync(sync_pointer self, sync_peer& p, const std::string& why) {
  auto& st = self->state;
  st.log.info("headers presync ended", {{"peer", std::to_string(p.info.id)},
                                        {"height", std::to_string(p.presync->presync_height())},
                                        {"reason", why}});
  p.presync.reset();
  if (st.headers_peer == p.info.id)
    st.headers_peer.reset();
  drive_headers(self);
}

/// Feeds a headers message (possibly empty: the peer has no more) to `p`'s presync.
void continue_presync(sync_pointer self, sync_peer& p, const headers_message& msg) {
  auto& st = self->state;
  auto& sync = *p.presync;
  auto before = sync.current();
  auto step = sync.process(msg.headers, msg.headers.size() == max_headers_results);
  if (!step.ok) {
    ++st.presyncs_failed;
    if (!step.misbehaved)
      return end_presync(self, p, step.error);
    p.presync.reset();
    // An invalid header is invalid data; an impossible chain (longer than time allows) is spam.
    auto spam = step.error.find("low-work") != std::string::npos;
    return disconnect(self, p.info.id,
                      spam ? close_reason::misbehaviour : close_reason::invalid_data, step.error);
  }
  if (before == headers_presync::phase::presync
      && sync.current() == headers_presync::phase::redownload)
    st.log.info(
        "headers presync reached the minimum work; downloading again",
        {{"peer", std::to_string(p.info.id)}, {"height", std::to_string(sync.presync_height())}});
  if (!step.release.empty() && !take_headers(self, p, step.release))
    return; // an invalid header after all: disconnected
  if (step.request_more)
    return request_presync_headers(self, p);
  if (step.release.empty()) {
    ++st.presyncs_dropped;
    return end_presync(self, p, "the chain ends below the minimum work: nothing stored");
  }
  ++st.presyncs_completed;
  st.log.info("headers presync complete", {{"peer", std::to_string(p.info.id)},
                                           {"height", std::to_string(sync.redownload_height())}});
  p.presync.reset();
  request_headers(self, p); // what follows, by the ordinary rules
  schedule_blocks(self);
}

/// Starts following `p`'s chain from `start`, for a chain that must reach `threshold`.
void start_presync(sync_pointer self, sync_peer& p, const header_node& start,
                   const uint256& threshold) {
  auto& st = self->state;
  std::array<std::uint8_t, 16> salt{};
  for (auto& b : salt)
    b = static_cast<std::uint8_t>(st.rng());
  p.presync.emplace(st.tree->params(), start, st.tree->median_time_past(start), threshold,
                    st.unix.now(), salt);
  ++st.presyncs_started;
  st.log.info("headers presync started", {{"peer", std::to_string(p.info.id)},
                                          {"fork-height", std::to_string(start.height)},
                                          {"minimum-work", threshold.to_hex()}});
}

} // namespace

/// The least work a chain needs for its headers to be stored: the chain spec's minimum chain
/// work, or our best header's work less anti_dos_blocks of its difficulty, whichever is more.
uint256 anti_dos_work(const sync_state& st) {
  const auto& best = st.tree->best();
  auto margin = work_of_bits(best.header.bits).times(anti_dos_blocks);
  auto near_best = best.chain_work > margin ? best.chain_work - margin : uint256{};
  return std::max(st.tree->params().minimum_chain_work, near_best);
}

/// Whether `msg` is for the low-work rules (then handled here): it continues `p`'s presync, or it
/// forks from our tree, brings a header we lack and leads to less than anti_dos_work().
bool low_work_headers(sync_pointer self, sync_peer& p, const headers_message& msg) {
  auto& st = self->state;
  if (p.presync && (msg.headers.empty() || p.presync->continues(msg.headers.front()))) {
    continue_presync(self, p, msg);
    return true;
  }
  if (msg.headers.empty() || st.tree->find(block_hash(msg.headers.back())) != nullptr)
    return false; // nothing new to store
  const header_node* start = st.tree->find(msg.headers.front().prev_block);
  if (start == nullptr)
    return false; // does not connect: the ordinary rules
  auto work = start->chain_work;
  for (const auto& h : msg.headers)
    work = work + work_of_bits(h.bits);
  auto threshold = anti_dos_work(st);
  if (work >= threshold)
    return false;
  if (msg.headers.size() < max_headers_results || p.presync) {
    if (!drop_faulty_headers(self, p, msg, start))
      ignore_low_work(self, p, *start);
    return true;
  }
  start_presync(self, p, *start, threshold);
  continue_presync(self, p, msg);
  return true;
}

/// The low-work counters and the presyncs under way, for the status report.
caf::settings presync_status(const sync_state& st) {
  caf::settings r;
  report(r, "anti-dos-work", anti_dos_work(st).to_hex());
  report(r, "started", st.presyncs_started);
  report(r, "completed", st.presyncs_completed);
  report(r, "dropped", st.presyncs_dropped);
  report(r, "failed", st.presyncs_failed);
  report(r, "ignored-messages", st.low_work_ignored);
  std::size_t active = 0;
  std::size_t bytes = 0;
  for (const auto& [id, p] : st.peers)
    if (p.presync) {
      ++active;
      bytes += p.presync->memory_bytes();
    }
  report(r, "active", active);
  report(r, "memory-bytes", bytes);
  return r;
}

} // namespace qtc
