#include "runtime/net/address_manager.hpp"

#include "messages/p2p.hpp"

#include <algorithm>

namespace qtc {

namespace {

constexpr std::uint8_t format_version = 1;
constexpr std::int64_t horizon_days = 30;  ///< not heard of for this long: terrible
constexpr std::uint32_t max_retries = 3;   ///< failures without any success: terrible
constexpr std::uint32_t max_failures = 10; ///< failures since a success a week ago: terrible
constexpr std::int64_t min_fail_days = 7;
constexpr std::int64_t recent_try = 60; ///< seconds: a fresh attempt is never terrible
constexpr std::size_t max_select_rounds = 4096;
/// Bounds the stored table: every slot of both tables, no more.
constexpr std::uint64_t max_entries =
    std::uint64_t{address_manager::new_buckets + address_manager::tried_buckets}
    * address_manager::bucket_size;
constexpr std::size_t max_pubkey_hex = 64;
constexpr std::size_t min_entry_size = 16 + 2 + 1 + 1 + 16 + 8 * 3 + 4 + 1;

void append(bytes& out, std::span<const std::uint8_t> data) {
  out.insert(out.end(), data.begin(), data.end());
}

void append_u32(bytes& out, std::uint32_t x) {
  for (int i = 0; i < 4; ++i)
    out.push_back(static_cast<std::uint8_t>(x >> (8 * i)));
}

std::uint32_t lower(std::uint64_t h, std::uint32_t n) {
  return static_cast<std::uint32_t>(h % n);
}

} // namespace

address_manager::address_manager(secret key, bool allow_private, std::uint64_t seed)
    : key_(key), allow_private_(allow_private), rng_(seed) {}

std::uint64_t address_manager::hash(std::span<const std::uint8_t> data) const {
  std::array<std::uint8_t, 16> k{};
  std::copy_n(key_.begin(), 16, k.begin());
  return siphash24(k, data);
}

std::uint32_t address_manager::position(std::uint8_t table, std::uint32_t bucket,
                                        const ip_bytes& ip, std::uint16_t port) const {
  bytes c{'p', table};
  append_u32(c, bucket);
  append(c, ip);
  append_u32(c, port);
  return lower(hash(c), bucket_size);
}

address_manager::slot address_manager::new_slot(const ip_bytes& ip, std::uint16_t port,
                                                const ip_bytes& source) const {
  auto group = network_group(ip, allow_private_);
  auto source_group = network_group(source, allow_private_);
  bytes a{'N'};
  append(a, group);
  append(a, source_group);
  auto h1 = lower(hash(a), new_buckets_per_source_group);
  bytes b{'n'};
  append(b, source_group);
  append_u32(b, h1);
  auto bucket = lower(hash(b), new_buckets);
  return {bucket, position(0, bucket, ip, port)};
}

address_manager::slot address_manager::tried_slot(const ip_bytes& ip, std::uint16_t port) const {
  bytes a{'T'};
  append(a, ip);
  append_u32(a, port);
  auto h1 = lower(hash(a), tried_buckets_per_group);
  bytes b{'t'};
  append(b, network_group(ip, allow_private_));
  append_u32(b, h1);
  auto bucket = lower(hash(b), tried_buckets);
  return {bucket, position(1, bucket, ip, port)};
}

bool address_manager::terrible(const entry& e, std::int64_t now) {
  if (e.last_try != 0 && now - e.last_try < recent_try)
    return false;
  if (e.last_seen > now + 10 * 60)
    return true; // claims to come from the future
  if (e.last_seen == 0 || now - e.last_seen > horizon_days * 86400)
    return true;
  if (e.last_success == 0 && e.attempts >= max_retries)
    return true;
  if (now - e.last_success > min_fail_days * 86400 && e.attempts >= max_failures)
    return true;
  return false;
}

bool address_manager::place_new(const key_type& k, entry& e, std::int64_t now) {
  auto s = new_slot(k.first, k.second, e.source);
  if (auto i = new_table_.find(s); i != new_table_.end() && i->second != k) {
    // The slot is taken: only a terrible occupant gives way.
    if (!terrible(entries_.at(i->second), now))
      return false;
    auto old = i->second;
    new_table_.erase(i);
    entries_.erase(old);
  }
  e.tried = false;
  e.bucket = s.first;
  e.position = s.second;
  new_table_[s] = k;
  return true;
}

void address_manager::remove(const key_type& k) {
  auto i = entries_.find(k);
  if (i == entries_.end())
    return;
  auto& table = i->second.tried ? tried_table_ : new_table_;
  table.erase({i->second.bucket, i->second.position});
  entries_.erase(i);
}

std::size_t address_manager::add(const std::vector<discovered_peer>& peers, const ip_bytes& source,
                                 std::int64_t now) {
  std::size_t added = 0;
  for (const auto& p : peers) {
    if (!usable_peer_address(p.ip, allow_private_) || p.port == 0)
      continue;
    key_type k{p.ip, p.port};
    if (auto i = entries_.find(k); i != entries_.end()) {
      i->second.last_seen = std::max(i->second.last_seen, now);
      if (!p.pubkey_hex.empty())
        i->second.peer.pubkey_hex = p.pubkey_hex;
      i->second.peer.tls_only |= p.tls_only;
      continue;
    }
    entry e;
    e.peer = p;
    e.source = source;
    e.last_seen = now;
    auto [it, inserted] = entries_.emplace(k, std::move(e));
    if (!place_new(k, it->second, now)) {
      entries_.erase(it);
      continue;
    }
    ++added;
  }
  return added;
}

void address_manager::good(const ip_bytes& ip, std::uint16_t port, std::int64_t now) {
  key_type k{ip, port};
  auto i = entries_.find(k);
  if (i == entries_.end())
    return;
  auto& e = i->second;
  e.last_success = e.last_try = e.last_seen = now;
  e.attempts = 0;
  if (e.tried)
    return;
  auto s = tried_slot(ip, port);
  if (auto occupant = tried_table_.find(s); occupant != tried_table_.end()) {
    // The tried slot's occupant goes back to new (or away, if its new slot is taken).
    auto old_key = occupant->second;
    tried_table_.erase(occupant);
    auto& old = entries_.at(old_key);
    if (!place_new(old_key, old, now))
      entries_.erase(old_key);
  }
  new_table_.erase({e.bucket, e.position});
  e.tried = true;
  e.bucket = s.first;
  e.position = s.second;
  tried_table_[s] = k;
}

void address_manager::attempt(const ip_bytes& ip, std::uint16_t port, bool failed,
                              std::int64_t now) {
  if (auto i = entries_.find({ip, port}); i != entries_.end()) {
    i->second.last_try = now;
    if (failed)
      ++i->second.attempts;
  }
}

void address_manager::learned_tls_only(const ip_bytes& ip, std::uint16_t port) {
  if (auto i = entries_.find({ip, port}); i != entries_.end())
    i->second.peer.tls_only = true;
}

std::optional<discovered_peer>
address_manager::select(const std::set<std::vector<std::uint8_t>>& used_groups, std::int64_t now,
                        bool new_only) {
  if (entries_.empty() || (new_only && new_table_.empty()))
    return std::nullopt;
  // Core's GetChance: recently tried addresses and repeated failures are less likely.
  auto chance = [now](const entry& e) {
    double c = 1.0;
    if (now - e.last_try < 10 * 60)
      c *= 0.01;
    for (std::uint32_t i = 0; i < std::min<std::uint32_t>(e.attempts, 8); ++i)
      c *= 0.66;
    return c;
  };
  auto eligible = [&](const entry& e) {
    if (used_groups.contains(network_group(e.peer.ip, allow_private_)))
      return false;
    // An attempt in the last minute that has not (yet) succeeded rules the address out; one that
    // succeeded does not: a restarted node reconnects to the peers it had at once.
    if (e.last_try != 0 && now - e.last_try < recent_try && e.last_try > e.last_success)
      return false;
    auto backoff =
        std::min<std::int64_t>(std::int64_t{1} << std::min<std::uint32_t>(e.attempts, 10), 600);
    return e.attempts == 0 || now - e.last_try >= backoff;
  };
  std::uniform_real_distribution<double> unit{0.0, 1.0};
  double factor = 1.0;
  for (std::size_t round = 0; round < max_select_rounds; ++round) {
    bool use_tried = !new_only && !tried_table_.empty() && (new_table_.empty() || rng_() % 2 == 0);
    const auto& table = use_tried ? tried_table_ : new_table_;
    // A random occupied slot: a random point in the table, then the next occupant after it.
    auto nb = use_tried ? tried_buckets : new_buckets;
    slot probe{static_cast<std::uint32_t>(rng_() % nb),
               static_cast<std::uint32_t>(rng_() % bucket_size)};
    auto it = table.lower_bound(probe);
    if (it == table.end())
      it = table.begin();
    const auto& e = entries_.at(it->second);
    if (!eligible(e))
      continue;
    if (unit(rng_) < factor * chance(e))
      return e.peer;
    factor *= 1.2;
  }
  // Everything eligible is unlikely: take any eligible one rather than nothing.
  for (const auto& [k, e] : entries_)
    if (eligible(e) && !(new_only && e.tried))
      return e.peer;
  return std::nullopt;
}

std::vector<discovered_peer> address_manager::sample(std::size_t max_count, std::size_t pct,
                                                     std::int64_t now) {
  std::vector<const entry*> all;
  for (const auto& [k, e] : entries_)
    if (!terrible(e, now))
      all.push_back(&e);
  std::shuffle(all.begin(), all.end(), rng_);
  // Rounded up, so that a small network's few addresses are still shared.
  auto n = std::min(max_count, (entries_.size() * pct + 99) / 100);
  std::vector<discovered_peer> out;
  for (std::size_t i = 0; i < all.size() && out.size() < n; ++i)
    out.push_back(all[i]->peer);
  return out;
}

std::size_t address_manager::new_count() const {
  return new_table_.size();
}

std::size_t address_manager::tried_count() const {
  return tried_table_.size();
}

std::size_t address_manager::new_buckets_used() const {
  std::set<std::uint32_t> used;
  for (const auto& [s, k] : new_table_)
    used.insert(s.first);
  return used.size();
}

const address_manager::entry* address_manager::find(const ip_bytes& ip, std::uint16_t port) const {
  auto i = entries_.find({ip, port});
  return i == entries_.end() ? nullptr : &i->second;
}

bytes address_manager::serialize() const {
  bytes out;
  byte_writer w{out};
  w.u8(format_version);
  out.insert(out.end(), key_.begin(), key_.end());
  w.compact_size(entries_.size());
  for (const auto& [k, e] : entries_) {
    out.insert(out.end(), e.peer.ip.begin(), e.peer.ip.end());
    w.u16be(e.peer.port);
    w.var_str(e.peer.pubkey_hex);
    w.u8(e.peer.tls_only ? 1 : 0);
    out.insert(out.end(), e.source.begin(), e.source.end());
    w.i64le(e.last_seen);
    w.i64le(e.last_try);
    w.i64le(e.last_success);
    w.u32le(e.attempts);
    w.u8(e.tried ? 1 : 0);
  }
  return out;
}

std::optional<address_manager> address_manager::deserialize(std::span<const std::uint8_t> data,
                                                            bool allow_private, std::uint64_t seed,
                                                            std::string& error) {
  byte_reader r{data};
  auto version = r.u8();
  if (r.ok() && version != format_version) {
    error = "peer table: unknown format version " + std::to_string(version);
    return std::nullopt;
  }
  auto key = r.fixed<32>();
  auto n = r.count(max_entries, min_entry_size);
  if (!r.ok()) {
    error = "peer table: header: " + to_string(r.error());
    return std::nullopt;
  }
  address_manager am{key, allow_private, seed};
  std::vector<std::pair<key_type, entry>> tried;
  for (std::uint64_t i = 0; i < n && r.ok(); ++i) {
    entry e;
    e.peer.ip = r.fixed<16>();
    e.peer.port = r.u16be();
    e.peer.pubkey_hex = r.var_str(max_pubkey_hex);
    e.peer.tls_only = r.u8() != 0;
    e.peer.source = "store";
    e.source = r.fixed<16>();
    e.last_seen = r.i64le();
    e.last_try = r.i64le();
    e.last_success = r.i64le();
    e.attempts = r.u32le();
    e.tried = r.u8() != 0;
    if (!r.ok())
      break;
    key_type k{e.peer.ip, e.peer.port};
    if (am.entries_.contains(k) || !usable_peer_address(e.peer.ip, allow_private))
      continue; // duplicates and addresses this network does not allow are dropped
    // Positions are recomputed (they depend only on the key): new first, then promotions.
    auto& placed = am.entries_.emplace(k, e).first->second;
    if (!am.place_new(k, placed, e.last_seen))
      am.entries_.erase(k);
    else if (e.tried)
      tried.emplace_back(k, e);
  }
  r.expect_end();
  if (!r.ok()) {
    error = "peer table: entries: " + to_string(r.error());
    return std::nullopt;
  }
  for (const auto& [k, e] : tried) {
    auto keep = e;
    am.good(k.first, k.second, e.last_success);
    // good() stamps times; restore what was stored.
    if (auto i = am.entries_.find(k); i != am.entries_.end()) {
      i->second.last_seen = keep.last_seen;
      i->second.last_try = keep.last_try;
      i->second.last_success = keep.last_success;
      i->second.attempts = keep.attempts;
    }
  }
  return am;
}

} // namespace qtc
