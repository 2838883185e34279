// Answering a peer's requests (getdata, getheaders) at the pace it reads. Requests queue per
// peer in arrival order; at most max_serving answers are built at once, and they go to the
// session with serve_atom (the blocks read from the store together in one message), whose reply
// comes only once the peer has read enough of what waits for it (peer_session_core's serve_ahead
// mark). A peer that asks for 50,000 blocks and does not
// read costs the node the session's mark plus a few answers, not 50,000 blocks: Bitcoin Core
// pauses a peer's getdata processing while its send buffer is full for the same reason.
#include "actors/sync_state.hpp"
#include "runtime/net/ip_address.hpp"

namespace qtc {

namespace {

/// Answers built at once for one peer (blocks read from the store together and handed to the
/// session in one message): the next are read while the session still writes these.
constexpr std::uint32_t max_serving = 4;
/// Requests waiting per peer: one full getdata (50,000 items, the wire limit). An honest peer
/// asks for at most 16 blocks at a time; what does not fit is dropped, not answered.
constexpr std::size_t max_serve_queue = 50'000;
/// getheaders waiting per peer: an honest peer has one outstanding.
constexpr std::uint32_t max_queued_getheaders = 8;

/// Answers a peer may have again in one session before it is amplification: an honest peer
/// asks for a block once (a timed-out request goes to another peer) and its headers once.
constexpr std::uint32_t max_repeats = 16;

void serve_next(sync_pointer self, std::uint64_t id);

/// Counts an answer the peer had already been given: asking for the same data again and again is
/// getdata amplification (bytes out for few bytes in), reported past max_repeats.
void count_repeat(sync_pointer self, sync_peer& p) {
  ++p.repeats;
  if (++p.repeats_unreported <= max_repeats)
    return;
  auto n = p.repeats_unreported;
  p.repeats_unreported = 0;
  report_flood(self, p, offence::getdata_amplification,
               std::to_string(n) + " answers it had already been sent (" + std::to_string(p.repeats)
                   + " this session)");
}

/// Notes a block served to the peer; a repeat if it had it from us before.
void note_block_served(sync_pointer self, sync_peer& p, const hash256& hash) {
  const auto* node = self->state.tree->find(hash);
  if (node == nullptr)
    return;
  if (p.served_blocks.size() <= node->height)
    p.served_blocks.resize(node->height + 1024);
  if (p.served_blocks[node->height])
    count_repeat(self, p);
  p.served_blocks[node->height] = true;
}

/// Notes headers sent to the peer; a repeat if all of them had been sent before.
void note_headers_served(sync_pointer self, sync_peer& p, const headers_message& answer) {
  if (answer.headers.empty())
    return;
  const auto* last = self->state.tree->find(block_hash(answer.headers.back()));
  if (last == nullptr)
    return;
  if (last->height <= p.headers_served_to)
    count_repeat(self, p);
  p.headers_served_to = std::max(p.headers_served_to, last->height);
}

/// Frees `count` of the peer's answer slots (answers sent, or items the store lacked).
void release_slots(sync_peer& p, std::uint32_t count) {
  p.serving -= std::min(count, p.serving);
}

/// Answers are done (sent and the peer reading, or the session gone): the next may start.
void answers_done(sync_pointer self, std::uint64_t id, std::uint32_t count) {
  auto i = self->state.peers.find(id);
  if (i == self->state.peers.end())
    return;
  release_slots(i->second, count);
  serve_next(self, id);
}

/// Whether a block item asks for a compact block (getdata type 4) rather than the whole block.
bool wants_compact(const inv_item& item) {
  return item.type == static_cast<std::uint32_t>(inv_type::compact_block);
}

/// Hands answers to the peer's session in one message; their bytes (each with its 24-byte frame
/// header) count against the upload target.
void deliver(sync_pointer self, std::uint64_t id, std::vector<peer_answer> answers) {
  auto i = self->state.peers.find(id);
  if (i == self->state.peers.end())
    return;
  std::uint64_t size = 0;
  for (const auto& a : answers)
    size += a.payload.size() + 24;
  self->state.upload.sent(size, self->clock().now());
  auto count = static_cast<std::uint32_t>(answers.size());
  self->request(i->second.session, caf::infinite, serve_atom::value, std::move(answers))
      .then([self, id, count](bool) { answers_done(self, id, count); },
            [self, id, count](const caf::error&) { answers_done(self, id, count); });
}

/// One answer built at once (headers, a transaction).
void deliver(sync_pointer self, std::uint64_t id, std::string command, bytes payload) {
  std::vector<peer_answer> answers;
  answers.push_back(peer_answer{std::move(command), std::move(payload)});
  deliver(self, id, std::move(answers));
}

/// The answers to block items from the store: whole blocks or (getdata type 4) compact blocks
/// of recent ones; what the store lacks goes to the peer's notfound.
std::vector<peer_answer> stored_answers(sync_pointer self, sync_peer* p,
                                        const std::vector<inv_item>& items,
                                        const std::vector<bool>& recent,
                                        std::vector<stored_block>& stored) {
  std::vector<peer_answer> answers;
  answers.reserve(items.size());
  for (std::size_t k = 0; k < items.size(); ++k) {
    bytes raw = k < stored.size() ? std::move(stored[k].raw) : bytes{};
    if (raw.empty()) {
      if (p != nullptr)
        p->missing.items.push_back(items[k]);
    } else if (wants_compact(items[k])) {
      answers.push_back(compact_answer(self, std::move(raw), recent[k]));
    } else {
      answers.push_back(peer_answer{"block", std::move(raw)});
    }
  }
  return answers;
}

/// Block items from the store, read in one transaction and handed to the session in one
/// message: a getdata of 16 blocks costs a few store reads and acknowledgements, not 16 each.
void serve_stored(sync_pointer self, std::uint64_t id, std::vector<inv_item> items) {
  auto& st = self->state;
  std::vector<hash256> hashes;
  std::vector<bool> recent;
  for (const auto& item : items) {
    hashes.push_back(item.hash);
    recent.push_back(wants_compact(item) && recent_block(st, item.hash, 5));
  }
  self->request(st.storage.get(), caf::infinite, get_atom::value, block_atom::value,
                std::move(hashes))
      .then(
          [self, id, items, recent](std::vector<stored_block>& stored) {
            auto i = self->state.peers.find(id);
            auto* p = i == self->state.peers.end() ? nullptr : &i->second;
            auto answers = stored_answers(self, p, items, recent, stored);
            auto lacking = static_cast<std::uint32_t>(items.size() - answers.size());
            if (answers.empty())
              return answers_done(self, id, lacking);
            if (p != nullptr)
              release_slots(*p, lacking);
            deliver(self, id, std::move(answers));
          },
          [self, id, items](const caf::error&) {
            if (auto i = self->state.peers.find(id); i != self->state.peers.end())
              for (const auto& item : items)
                i->second.missing.items.push_back(item);
            answers_done(self, id, static_cast<std::uint32_t>(items.size()));
          });
}

/// Core's historical block serving limit: once the upload target (less the reserve for new
/// blocks) is spent, a peer without the download permission that asks for a block more than a
/// week older than our best header is disconnected (not an offence: it may try elsewhere).
bool refuse_historical(sync_pointer self, sync_peer& p, const hash256& hash) {
  auto& st = self->state;
  if (p.info.permissions.download || !st.upload.reached(self->clock().now(), true))
    return false;
  const auto* node = st.tree->find(hash);
  if (node == nullptr)
    return false;
  auto age = static_cast<std::int64_t>(st.tree->best().header.time) - node->header.time;
  if (age <= upload_target::historical_age.count())
    return false;
  ++st.upload_refusals;
  p.serve_queue.clear(); // the rest is not answered either
  p.queued_getheaders = 0;
  disconnect(self, p.info.id, close_reason::unwanted,
             "upload target reached: historical block at height " + std::to_string(node->height)
                 + " refused");
  return true;
}

/// Whether the answer to `job` comes from the store (asynchronously, in request order).
bool from_store(const serve_job& job) {
  const auto* item = std::get_if<inv_item>(&job);
  return item != nullptr
         && (item->type == static_cast<std::uint32_t>(inv_type::block) || wants_compact(*item));
}

/// Starts answering the block items at the front of the queue, as many as the peer has room
/// for, with one store read.
void start_stored(sync_pointer self, std::uint64_t id, sync_peer& p) {
  std::vector<inv_item> items;
  while (p.serving + items.size() < max_serving && !p.serve_queue.empty()
         && from_store(p.serve_queue.front())) {
    auto item = std::get<inv_item>(p.serve_queue.front());
    if (refuse_historical(self, p, item.hash))
      break; // the queue is cleared: nothing more for this peer
    p.serve_queue.pop_front();
    note_block_served(self, p, item.hash);
    items.push_back(item);
  }
  if (items.empty())
    return;
  p.serving += static_cast<std::uint32_t>(items.size());
  serve_stored(self, id, std::move(items));
}

/// Answers one request built at once from memory (headers, transactions). Unknown transactions
/// go to the peer's notfound.
void start_answer(sync_pointer self, std::uint64_t id, sync_peer& p, const serve_job& job) {
  if (const auto* gh = std::get_if<getheaders_message>(&job)) {
    --p.queued_getheaders;
    ++p.serving;
    auto answer = headers_answer(self->state, *gh);
    note_headers_served(self, p, answer);
    deliver(self, id, "headers", encode_payload(p2p_message{std::move(answer)}));
    return;
  }
  const auto& item = std::get<inv_item>(job);
  if (item.type != static_cast<std::uint32_t>(inv_type::tx))
    return; // filtered blocks and unknown types are not served (not an error)
  if (auto raw = tx_answer(self, p, item.hash)) {
    ++p.serving;
    deliver(self, id, "tx", std::move(*raw));
  } else {
    p.missing.items.push_back(item);
  }
}

/// Starts answers while the peer has room, then reports what we did not have. Answers leave in
/// request order: the store answers in order, and an answer built at once (headers, a
/// transaction) waits until those before it are out.
void serve_next(sync_pointer self, std::uint64_t id) {
  auto i = self->state.peers.find(id);
  if (i == self->state.peers.end())
    return;
  auto& p = i->second;
  while (p.serving < max_serving && !p.serve_queue.empty()
         && (p.serving == 0 || from_store(p.serve_queue.front()))) {
    if (from_store(p.serve_queue.front())) {
      start_stored(self, id, p);
      continue;
    }
    auto job = std::move(p.serve_queue.front());
    p.serve_queue.pop_front();
    start_answer(self, id, p, job);
  }
  if (!p.missing.items.empty()) {
    self->send(p.session, send_atom::value, p2p_message{std::move(p.missing)});
    p.missing.items.clear();
  }
}

} // namespace

/// A peer's flood (requests past what the node queues for it) goes to the security manager as
/// an offence, once a minute while it lasts: it is weighed like any other, and feeds the flood
/// detectors. Without a security manager it is only counted.
void report_flood(sync_pointer self, sync_peer& p, offence kind, const std::string& detail) {
  auto& st = self->state;
  std::string error;
  auto entry = parse_address_entry(p.info.remote, error);
  auto ip = entry ? parse_ip(entry->host) : std::nullopt;
  if (!ip || !st.security || !p.floods.due(kind, self->clock().now()))
    return;
  self->request(st.security.get(), std::chrono::seconds{10}, offence_atom::value,
                peer_offence{p.info.id, *ip, kind, detail.substr(0, 200)})
      .then([](verdict) {},
            [self](const caf::error&) {
              // Restarted: ask the supervisor for its successor.
              self->state.security.set(security_actor{});
              self->state.security.find(
                  self, self->state.parent, std::chrono::seconds{10}, [](const security_actor&) {},
                  [](const caf::error&) {});
            });
}

/// getdata: its items join the peer's queue (what does not fit is dropped, counted, and
/// reported: an honest peer has at most 16 blocks and 100 transactions outstanding).
void on_getdata(sync_pointer self, std::uint64_t id, sync_peer& p, const getdata_message& msg) {
  auto room = max_serve_queue - std::min(max_serve_queue, p.serve_queue.size());
  auto taken = std::min(room, msg.items.size());
  p.serve_queue.insert(p.serve_queue.end(), msg.items.begin(),
                       msg.items.begin() + static_cast<std::ptrdiff_t>(taken));
  auto dropped = msg.items.size() - taken;
  p.serve_dropped += dropped;
  if (dropped > 0)
    report_flood(self, p, offence::getdata_flood,
                 std::to_string(dropped) + " getdata items past the "
                     + std::to_string(max_serve_queue) + " queued");
  serve_next(self, id);
}

/// getheaders: answered in turn with the getdata before it (a few may wait; more are dropped).
void on_getheaders(sync_pointer self, std::uint64_t id, sync_peer& p,
                   const getheaders_message& msg) {
  if (!self->state.loaded)
    return;
  if (p.queued_getheaders >= max_queued_getheaders || p.serve_queue.size() >= max_serve_queue) {
    ++p.serve_dropped;
    report_flood(self, p, offence::getdata_flood,
                 "getheaders past the " + std::to_string(max_queued_getheaders) + " queued");
    return;
  }
  ++p.queued_getheaders;
  p.serve_queue.emplace_back(msg);
  serve_next(self, id);
}

} // namespace qtc
