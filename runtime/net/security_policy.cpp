#include "runtime/net/security_policy.hpp"

#include "messages/p2p.hpp"
#include "messages/primitives/hash.hpp"
#include "messages/primitives/hex.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

namespace qtc {

namespace {

using namespace std::chrono_literals;
using time_point = security_policy::time_point;

constexpr time_point forever = time_point::max();
constexpr double minus_infinity = -std::numeric_limits<double>::infinity();

/// The weight of one occurrence of each offence. With the default ladder (warn 20, throttle 50,
/// discourage 75, ban 100) and a one-hour half-life, the weight says how many occurrences in
/// about an hour an honest node is allowed: 100 / weight, less one.
struct weighted {
  offence kind;
  std::uint32_t weight;
};
constexpr std::array<weighted, offence_count> weight_table{{
    // Bit flips and buggy clients produce the odd bad frame; ten within the hour are no accident.
    {offence::bad_checksum, 10},
    // One decoder bug (ours or theirs) is possible; five undecodable payloads are not.
    {offence::malformed_message, 20},
    // Announcing more than the limit is a probe of our memory, or another protocol: two ban.
    {offence::oversized_message, 50},
    // Newer clients send commands we do not know yet: only a flood of them adds up.
    {offence::unknown_message, 1},
    // Messages out of order break the state machine; no honest client does it twice.
    {offence::protocol_violation, 50},
    // Middleboxes, version mismatches and lossy links break handshakes now and then.
    {offence::handshake_failure, 10},
    // Slow links exist, but holding handshake slots is the cheapest way to exhaust them.
    {offence::slow_handshake, 20},
    // A quiet peer may just have nothing to say; one holding slots keeps coming back.
    {offence::silent_peer, 10},
    // Each reconnect costs us a handshake (Diffie-Hellman); a flapping link does it rarely.
    {offence::connection_churn, 20},
    // The budgets leave room for honest bursts: five overruns in an hour are a flood.
    {offence::rate_exceeded, 20},
    {offence::ping_flood, 20},
    {offence::addr_flood, 20},
    {offence::inv_flood, 20},
    // Serving data costs disk reads and upload: two floods ban.
    {offence::getdata_flood, 50},
    // Small requests for large answers would make us someone else's amplifier.
    {offence::getdata_amplification, 50},
    // Headers that do not connect happen in races and reorgs; a stream of them is spam.
    {offence::header_spam, 20},
    // Consensus-invalid data: no honest node relays it, so one bans (as in Core).
    {offence::invalid_header, 100},
    {offence::invalid_block, 100},
    // Relay rules are deliberate protocol: breaking them is not a bug a peer can plead.
    {offence::relay_violation, 100},
    // One static key on many connections: a sybil, or a cloned machine; two ban.
    {offence::shared_identity, 50},
    // A node's software makes a valid proof or none; a forged, replayed or missing one is an
    // impersonation attempt (or a man in the middle): one bans.
    {offence::bad_quantumproof, 100},
}};

constexpr bool table_in_enum_order() {
  for (std::size_t i = 0; i < weight_table.size(); ++i)
    if (static_cast<std::size_t>(weight_table[i].kind) != i)
      return false;
  return true;
}
static_assert(table_in_enum_order(), "one weight per offence, in the enum's order");

/// The last address of `net` (host bits all ones).
ip_bytes last_of(const subnet& net) {
  ip_bytes out = net.base;
  for (unsigned i = 0; i < 16; ++i) {
    unsigned bits = std::min(8u, net.prefix_len > 8 * i ? net.prefix_len - 8 * i : 0u);
    out[i] |= static_cast<std::uint8_t>(0xffu >> bits);
  }
  return out;
}

/// `t + d`, stopping just short of `forever` (which means something else).
time_point later(time_point t, std::chrono::seconds d) {
  auto room = forever - t;
  if (d >= room)
    return forever - 1ns;
  return t + d;
}

/// Control characters (a newline would end a line of the file) become spaces; at most 200 bytes,
/// cut at a UTF-8 character boundary.
std::string sanitize(std::string text) {
  constexpr std::size_t max_reason = 200;
  for (auto& c : text)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      c = ' ';
  if (text.size() > max_reason) {
    std::size_t cut = max_reason;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xc0) == 0x80)
      --cut;
    text.resize(cut);
  }
  return text;
}

} // namespace

// --- reputation --------------------------------------------------------------------------------

security_policy::security_policy() : security_policy(config{}) {}

security_policy::security_policy(config cfg) : cfg_(cfg), reputation_(0, keyed_hash{cfg.hash_key}) {
  // Settings that would divide by zero or make a table that cannot hold one entry.
  cfg_.score_half_life = std::max(cfg_.score_half_life, std::chrono::seconds{1});
  cfg_.max_tracked_addresses = std::max<std::size_t>(cfg_.max_tracked_addresses, 1);
  cfg_.subnet_prefix_v4 = std::min<std::uint8_t>(cfg_.subnet_prefix_v4, 32);
  cfg_.subnet_prefix_v6 = std::min<std::uint8_t>(cfg_.subnet_prefix_v6, 128);
}

std::uint32_t security_policy::weight(offence kind) {
  auto i = static_cast<std::size_t>(kind);
  return i < weight_table.size() ? weight_table[i].weight : 0;
}

subnet security_policy::subnet_of(const ip_bytes& ip) const {
  return qtc::subnet_of(ip, cfg_.subnet_prefix_v4, cfg_.subnet_prefix_v6);
}

double security_policy::decayed(const reputation& r, time_point now) const {
  if (r.score <= 0 || now <= r.updated)
    return r.score;
  double halves = std::chrono::duration<double>(now - r.updated).count()
                  / static_cast<double>(cfg_.score_half_life.count());
  return r.score * std::exp2(-halves);
}

security_policy::evict_key security_policy::key_of(const ip_bytes& ip, const reputation& r) const {
  double since_epoch = std::chrono::duration<double>(r.updated.time_since_epoch()).count();
  double rank = r.score > 0 ? std::log2(r.score)
                                  + since_epoch / static_cast<double>(cfg_.score_half_life.count())
                            : minus_infinity;
  return evict_key{r.streak > 0, rank, r.updated, ip};
}

bool security_policy::history_live(const reputation& r, time_point now) const {
  return r.streak > 0 && now - r.streak_start < cfg_.repeat_window;
}

std::size_t security_policy::keyed_hash::operator()(const ip_bytes& ip) const {
  return static_cast<std::size_t>(siphash24(key, ip));
}

void security_policy::untrack(reputation_table::iterator i) {
  evict_order_.erase(key_of(i->first, i->second));
  reputation_.erase(i);
}

void security_policy::drop_dead(time_point now) {
  // A little sweeping on every new entry keeps dead entries from piling up between prunes: the
  // front of each tier is its weakest entry.
  for (int n = 0; n < 2 && !evict_order_.empty(); ++n) {
    const auto& k = *evict_order_.begin();
    auto i = reputation_.find(k.ip);
    if (k.history || decayed(i->second, now) >= 1)
      break;
    untrack(i);
  }
  for (int n = 0; n < 2; ++n) {
    auto f = evict_order_.lower_bound(evict_key{true, minus_infinity, time_point::min(), {}});
    if (f == evict_order_.end())
      break;
    auto i = reputation_.find(f->ip);
    if (history_live(i->second, now) || decayed(i->second, now) >= 1)
      break;
    untrack(i);
  }
}

security_policy::reputation& security_policy::track(const ip_bytes& ip, time_point now) {
  if (auto i = reputation_.find(ip); i != reputation_.end())
    return i->second;
  drop_dead(now);
  if (reputation_.size() >= cfg_.max_tracked_addresses)
    untrack(reputation_.find(evict_order_.begin()->ip));
  reputation r;
  r.updated = now;
  auto& added = reputation_.emplace(ip, r).first->second;
  evict_order_.insert(key_of(ip, added));
  return added;
}

security_policy::outcome security_policy::record(const ip_bytes& ip, offence kind, time_point now) {
  auto perms = permissions_of(ip);
  auto& r = track(ip, now);
  evict_order_.erase(key_of(ip, r));
  if (!history_live(r, now))
    r.streak = 0; // the window has passed: the next ban starts a new streak
  r.score = decayed(r, now) + weight(kind);
  r.updated = std::max(r.updated, now);
  r.offences += r.offences < std::numeric_limits<std::uint32_t>::max() ? 1 : 0;
  r.last = kind;

  outcome out;
  out.score = r.score;
  if (perms.noban)
    out.v = r.score >= cfg_.warn_score ? verdict::warn : verdict::none;
  else if (r.score >= cfg_.ban_threshold)
    escalate(ip, r, now, out);
  else if (r.score >= cfg_.discourage_score)
    out.v = verdict::discourage;
  else if (r.score >= cfg_.throttle_score)
    out.v = verdict::throttle;
  else if (r.score >= cfg_.warn_score)
    out.v = verdict::warn;
  evict_order_.insert(key_of(ip, r));
  return out;
}

void security_policy::escalate(const ip_bytes& ip, reputation& r, time_point now, outcome& out) {
  r.score = 0; // after the ban the address starts clean; its ban history is what counts
  if (const auto* b = covering_ban(ip, now)) {
    // Already banned (a burst from a session not closed yet, or its subnet): the ban in force
    // answers, and it is not a second ban for the escalation.
    out.v = b->until == forever ? verdict::ban_forever : verdict::ban;
    if (b->until != forever)
      out.ban_until = b->until;
    return;
  }
  if (r.streak == 0)
    r.streak_start = now;
  r.streak = static_cast<std::uint8_t>(std::min(r.streak + 1, 255));
  bool permanent = cfg_.permanent_after != 0 && r.streak >= cfg_.permanent_after;
  // Doubling stops at 2^16 ban durations (the permanent ban comes long before by default).
  auto length = cfg_.ban_duration * (std::int64_t{1} << std::min(r.streak - 1, 16));
  auto until = permanent ? forever : later(now, length);
  out.v = permanent ? verdict::ban_forever : verdict::ban;
  if (!permanent)
    out.ban_until = until;
  ban_record rec;
  rec.created = now;
  rec.until = until;
  rec.offences = r.offences;
  rec.kind = r.last;
  out.newly_banned = place_ban(subnet::host(ip), std::move(rec), now);
  if (out.newly_banned)
    out.subnet_banned = aggregate(ip, now);
}

double security_policy::score(const ip_bytes& ip, time_point now) const {
  auto i = reputation_.find(ip);
  return i == reputation_.end() ? 0 : decayed(i->second, now);
}

// --- bans --------------------------------------------------------------------------------------

const security_policy::ban_record* security_policy::covering_ban(const ip_bytes& ip,
                                                                 time_point now) const {
  const ban_record* best = nullptr;
  for (const auto& [len, table] : bans_) {
    auto i = table.find(masked(ip, len));
    if (i != table.end() && i->second.until > now && (!best || i->second.until > best->until))
      best = &i->second;
  }
  return best;
}

void security_policy::erase_ban(const subnet& net) {
  auto t = bans_.find(net.prefix_len);
  if (t == bans_.end())
    return;
  auto i = t->second.find(net.base);
  if (i == t->second.end())
    return;
  ban_order_.erase(ban_key{i->second.manual, i->second.until, i->second.seq, net});
  t->second.erase(i);
  if (t->second.empty())
    bans_.erase(t); // queries walk only the prefix lengths in use
}

bool security_policy::place_ban(const subnet& net, ban_record rec, time_point now) {
  erase_ban(net);
  if (cfg_.max_bans == 0)
    return false;
  rec.seq = next_seq_++;
  ban_key added{rec.manual, rec.until, rec.seq, net};
  if (ban_order_.size() >= cfg_.max_bans) {
    // Full: an expired ban goes first; else the automatic ban that ends soonest (the oldest of
    // those ending together), if it is weaker than this one. Manual bans are never dropped.
    auto manual = ban_order_.lower_bound(ban_key{true, time_point::min(), 0, {}});
    auto automatic = ban_order_.begin() != manual ? ban_order_.begin() : ban_order_.end();
    std::set<ban_key>::iterator victim;
    if (manual != ban_order_.end() && manual->until <= now)
      victim = manual;
    else if (automatic != ban_order_.end() && (automatic->until <= now || *automatic < added))
      victim = automatic;
    else
      return false;
    auto dropped = victim->net;
    erase_ban(dropped);
  }
  ban_order_.insert(added);
  bans_[net.prefix_len][net.base] = std::move(rec);
  return true;
}

bool security_policy::aggregate(const ip_bytes& ip, time_point now) {
  auto net = subnet_of(ip);
  auto hosts = bans_.find(128);
  if (cfg_.prefix_ban_after == 0 || net.is_host() || hosts == bans_.end())
    return false;
  std::vector<ip_bytes> members;
  ban_record rec;
  rec.created = now;
  rec.until = now;
  rec.kind = reputation_.at(ip).last;
  auto last = last_of(net);
  for (auto i = hosts->second.lower_bound(net.base); i != hosts->second.end() && i->first <= last;
       ++i) {
    const auto& b = i->second;
    if (b.manual || b.until <= now)
      continue; // the operator's bans stay as they are
    members.push_back(i->first);
    rec.until = std::max(rec.until, b.until);
    rec.offences += b.offences;
  }
  if (members.size() < cfg_.prefix_ban_after)
    return false;
  // The subnet ban lasts as long as the longest of the bans it replaces.
  for (const auto& m : members)
    erase_ban(subnet::host(m));
  place_ban(net, std::move(rec), now);
  return true;
}

bool security_policy::ban(const subnet& net_in, std::optional<time_point> until, std::string reason,
                          time_point now) {
  auto net = subnet::of(net_in.base, net_in.prefix_len);
  auto end = until.value_or(forever);
  if (end <= now)
    return false;
  ban_record rec;
  rec.created = now;
  rec.until = end;
  rec.manual = true;
  rec.reason = sanitize(std::move(reason));
  // The offences of the addresses it covers that the policy knows of (a walk over the table for
  // a subnet: the operator's bans are few).
  std::uint64_t offences = 0;
  if (auto i = reputation_.find(net.base); net.is_host() && i != reputation_.end())
    offences = i->second.offences;
  else if (!net.is_host())
    for (const auto& [ip, r] : reputation_)
      offences += net.contains(ip) ? r.offences : 0;
  rec.offences = static_cast<std::uint32_t>(
      std::min<std::uint64_t>(offences, std::numeric_limits<std::uint32_t>::max()));
  return place_ban(net, std::move(rec), now);
}

bool security_policy::unban(const subnet& net_in) {
  auto net = subnet::of(net_in.base, net_in.prefix_len);
  auto t = bans_.find(net.prefix_len);
  if (t == bans_.end() || !t->second.contains(net.base))
    return false;
  erase_ban(net);
  return true;
}

void security_policy::clear_bans() {
  bans_.clear();
  ban_order_.clear();
}

std::vector<security_policy::ban_entry> security_policy::list_bans(time_point now) const {
  std::vector<ban_entry> out;
  for (const auto& [len, table] : bans_)
    for (const auto& [base, b] : table) {
      if (b.until <= now)
        continue;
      ban_entry e;
      e.net = subnet{base, len};
      e.reason = b.manual     ? b.reason
                 : len == 128 ? to_string(b.kind)
                              : "prefix aggregation, last: " + to_string(b.kind);
      e.offences = b.offences;
      e.created = b.created;
      if (b.until != forever)
        e.until = b.until;
      e.manual = b.manual;
      out.push_back(std::move(e));
    }
  std::sort(out.begin(), out.end(),
            [](const ban_entry& a, const ban_entry& b) { return a.net < b.net; });
  return out;
}

// --- permissions and admission -----------------------------------------------------------------

void security_policy::allow(const subnet& net_in, peer_permissions perms) {
  auto net = subnet::of(net_in.base, net_in.prefix_len);
  if (perms == peer_permissions{}) {
    auto t = allowlist_.find(net.prefix_len);
    if (t != allowlist_.end() && t->second.erase(net.base) && t->second.empty())
      allowlist_.erase(t);
    return;
  }
  allowlist_[net.prefix_len][net.base] = perms;
}

peer_permissions security_policy::permissions_of(const ip_bytes& ip) const {
  peer_permissions out;
  for (const auto& [len, table] : allowlist_) {
    auto i = table.find(masked(ip, len));
    if (i == table.end())
      continue;
    out.noban |= i->second.noban;
    out.relay |= i->second.relay;
    out.download |= i->second.download;
  }
  return out;
}

verdict security_policy::standing(const ip_bytes& ip, time_point now) const {
  if (permissions_of(ip).noban)
    return verdict::none;
  if (const auto* b = covering_ban(ip, now))
    return b->until == forever ? verdict::ban_forever : verdict::ban;
  auto s = score(ip, now);
  if (s >= cfg_.discourage_score)
    return verdict::discourage;
  if (s >= cfg_.throttle_score)
    return verdict::throttle;
  return verdict::none;
}

bool security_policy::may_dial(const ip_bytes& ip, time_point now) const {
  return standing(ip, now) < verdict::discourage;
}

security_policy::admission security_policy::admit_inbound(const ip_bytes& ip,
                                                          time_point now) const {
  if (permissions_of(ip).noban)
    return admission::accept;
  auto s = standing(ip, now);
  if (s >= verdict::ban)
    return admission::refuse_banned;
  // The counts are of the connections already open: this one is not counted yet.
  if (connections_from(ip) >= cfg_.max_connections_per_ip)
    return admission::refuse_per_ip;
  if (connections_from(subnet_of(ip)) >= cfg_.max_connections_per_subnet)
    return admission::refuse_per_subnet;
  return s == verdict::discourage ? admission::accept_discouraged : admission::accept;
}

void security_policy::connection_opened(const ip_bytes& ip) {
  ++per_ip_[ip];
  ++per_subnet_[subnet_of(ip)];
}

void security_policy::connection_closed(const ip_bytes& ip) {
  auto drop = [](auto& counts, const auto& key) {
    auto i = counts.find(key);
    if (i != counts.end() && --i->second == 0)
      counts.erase(i);
  };
  drop(per_ip_, ip);
  drop(per_subnet_, subnet_of(ip));
}

std::size_t security_policy::open_connections() const {
  std::size_t n = 0;
  for (const auto& [ip, count] : per_ip_)
    n += count;
  return n;
}

void security_policy::reset_connections() {
  per_ip_.clear();
  per_subnet_.clear();
}

std::uint32_t security_policy::connections_from(const ip_bytes& ip) const {
  auto i = per_ip_.find(ip);
  return i == per_ip_.end() ? 0 : i->second;
}

std::uint32_t security_policy::connections_from(const subnet& net) const {
  auto i = per_subnet_.find(subnet::of(net.base, net.prefix_len));
  return i == per_subnet_.end() ? 0 : i->second;
}

// --- housekeeping ------------------------------------------------------------------------------

void security_policy::prune(time_point now) {
  std::vector<subnet> expired;
  for (const auto& k : ban_order_)
    if (k.until <= now)
      expired.push_back(k.net);
  for (const auto& net : expired)
    erase_ban(net);
  for (auto i = reputation_.begin(); i != reputation_.end();) {
    auto next = std::next(i);
    auto& r = i->second;
    if (r.streak > 0 && !history_live(r, now)) {
      evict_order_.erase(key_of(i->first, r));
      r.streak = 0;
      evict_order_.insert(key_of(i->first, r));
    }
    if (r.streak == 0 && decayed(r, now) < 1)
      untrack(i);
    i = next;
  }
}

security_policy::stats security_policy::statistics(time_point now) const {
  stats out;
  for (const auto& k : ban_order_) {
    if (k.until <= now)
      continue;
    if (k.manual)
      ++out.manual_bans;
    else if (k.net.is_host())
      ++out.address_bans;
    else
      ++out.subnet_bans;
    out.forever_bans += k.until == forever ? 1 : 0;
  }
  out.tracked = reputation_.size();
  for (const auto& [ip, r] : reputation_) {
    auto s = decayed(r, now);
    if (s >= cfg_.discourage_score)
      ++out.discouraged;
    else if (s >= cfg_.throttle_score)
      ++out.throttled;
    auto b = std::upper_bound(histogram_bounds.begin(), histogram_bounds.end(), s);
    ++out.histogram[static_cast<std::size_t>(b - histogram_bounds.begin())];
  }
  return out;
}

// --- persistence -------------------------------------------------------------------------------
//
// The ban list file, one record per line, fields separated by one space:
//
//   qtc-banlist 1
//   ban <subnet> manual <created> <until|forever> <offences> <reason, to the end of the line>
//   ban <subnet> auto <created> <until|forever> <offences> <offence>
//   rep <ip> <score> <at> <offences> <last offence> <streak> <streak start|->
//   sha256d <hex: SHA-256d of every byte before this line>
//
// Times are Unix seconds: steady_clock starts again at every boot, so save and load convert
// through the (now, unix_now) pair they are given. A `rep` line keeps the score as it was at
// <at>; it goes on decaying from there, so the time the node was down counts. The checksum tells
// a truncated or damaged file from a short one; anything unexpected rejects the whole file (the
// caller starts empty rather than with half a list).

namespace {

constexpr std::string_view magic = "qtc-banlist 1";
constexpr std::string_view magic_word = "qtc-banlist ";
constexpr std::string_view checksum_tag = "sha256d ";
constexpr std::size_t max_line = 512; ///< a manual reason (≤ 200 bytes) and the fields fit
/// Times further than this from now are not the node's own (and would overflow steady_clock).
constexpr std::int64_t max_skew = std::int64_t{200} * 365 * 86400;
constexpr double max_score = 1e9;

std::string hash_hex(std::string_view text) {
  return to_hex(sha256d({reinterpret_cast<const std::uint8_t*>(text.data()), text.size()}));
}

std::string unix_text(time_point t, time_point now, std::int64_t unix_now) {
  return std::to_string(unix_now + std::chrono::floor<std::chrono::seconds>(t - now).count());
}

template <class T>
bool parse_number(std::string_view text, T& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return !text.empty() && ec == std::errc{} && end == text.data() + text.size();
}

std::optional<time_point> parse_time(std::string_view text, time_point now, std::int64_t unix_now) {
  std::int64_t t = 0;
  if (!parse_number(text, t) || t < unix_now - max_skew || t > unix_now + max_skew)
    return std::nullopt;
  return now + std::chrono::seconds{t - unix_now};
}

/// `line` split at single spaces into at most `n` fields, the last taking the rest of the line.
std::vector<std::string_view> split(std::string_view line, std::size_t n) {
  std::vector<std::string_view> out;
  while (out.size() + 1 < n) {
    auto space = line.find(' ');
    if (space == std::string_view::npos)
      break;
    out.push_back(line.substr(0, space));
    line.remove_prefix(space + 1);
  }
  out.push_back(line);
  return out;
}

/// Empty if `line` is this format's first line, else what is wrong with it.
std::string check_magic(std::string_view line) {
  if (line == magic)
    return {};
  if (line.starts_with(magic_word))
    return "unsupported version '" + std::string{line.substr(magic_word.size())}
           + "' (this node reads 1)";
  return "not a qtc ban list (the first line is not '" + std::string{magic} + "')";
}

std::size_t add_saturating(std::size_t a, std::size_t b) {
  return a > std::numeric_limits<std::size_t>::max() - b ? std::numeric_limits<std::size_t>::max()
                                                         : a + b;
}

} // namespace

std::string security_policy::save(time_point now, std::int64_t unix_now) const {
  auto unix = [&](time_point t) { return unix_text(t, now, unix_now); };
  std::string out{magic};
  out += '\n';
  for (const auto& [len, table] : bans_)
    for (const auto& [base, b] : table) {
      if (b.until <= now)
        continue;
      out += "ban " + subnet{base, len}.format() + (b.manual ? " manual " : " auto ")
             + unix(b.created) + ' ' + (b.until == forever ? "forever" : unix(b.until)) + ' '
             + std::to_string(b.offences) + ' ' + (b.manual ? b.reason : to_string(b.kind)) + '\n';
    }
  // By address, so that the same tables always save the same text (the hash order is not).
  std::vector<const reputation_table::value_type*> kept;
  for (const auto& entry : reputation_)
    if (decayed(entry.second, now) >= 1 || history_live(entry.second, now))
      kept.push_back(&entry); // the rest is nothing worth remembering
  std::sort(kept.begin(), kept.end(), [](auto a, auto b) { return a->first < b->first; });
  for (const auto* entry : kept) {
    const auto& [ip, r] = *entry;
    auto s = decayed(r, now);
    bool live = history_live(r, now);
    char score[32];
    auto end = std::to_chars(score, score + sizeof(score), s).ptr;
    out += "rep " + format_ip(ip) + ' ' + std::string(score, end) + ' ' + std::to_string(unix_now)
           + ' ' + std::to_string(r.offences) + ' ' + to_string(r.last) + ' '
           + (live ? std::to_string(r.streak) + ' ' + unix(r.streak_start) : "0 -") + '\n';
  }
  out += std::string{checksum_tag} + hash_hex(out) + '\n';
  return out;
}

security_policy::load_result security_policy::load(std::string_view text, time_point now,
                                                   std::int64_t unix_now, config cfg) {
  load_result res;
  auto fail = [&res](std::size_t line, const std::string& what) {
    res.error = "line " + std::to_string(line) + ": " + what;
    return std::move(res);
  };
  // Pass 1 allocates nothing: the line count and lengths are bounded, the first line is ours,
  // the last one the checksum of the rest.
  auto max_lines = add_saturating(add_saturating(cfg.max_bans, cfg.max_tracked_addresses), 2);
  std::size_t lines = 0, pos = 0, last_start = 0;
  while (pos < text.size()) {
    ++lines;
    auto nl = text.find('\n', pos);
    auto len = (nl == std::string_view::npos ? text.size() : nl) - pos;
    if (lines > max_lines)
      return fail(lines, "more lines than the bounds allow (" + std::to_string(max_lines) + ")");
    if (len > max_line)
      return fail(lines, "longer than " + std::to_string(max_line) + " bytes");
    if (auto wrong = lines == 1 ? check_magic(text.substr(pos, len)) : ""; !wrong.empty())
      return fail(lines, wrong);
    if (nl == std::string_view::npos)
      return fail(lines, "cut off before its end of line (truncated file)");
    last_start = pos;
    pos = nl + 1;
  }
  if (lines == 0)
    return fail(1, "empty file");
  auto last = text.substr(last_start, pos - 1 - last_start);
  if (lines < 2 || !last.starts_with(checksum_tag))
    return fail(lines, "not the checksum line (truncated file)");
  if (last.substr(checksum_tag.size()) != hash_hex(text.substr(0, last_start)))
    return fail(lines, "checksum does not match the lines before it (corrupted file)");
  // Pass 2: the records, into a policy that bounds itself as it fills.
  security_policy p(cfg);
  pos = text.find('\n') + 1;
  for (std::size_t n = 2; pos < last_start; ++n) {
    auto nl = text.find('\n', pos);
    std::string error;
    if (!p.load_line(text.substr(pos, nl - pos), now, unix_now, res.expired_bans, error))
      return fail(n, error);
    pos = nl + 1;
  }
  res.policy = std::move(p);
  return res;
}

bool security_policy::load_line(std::string_view line, time_point now, std::int64_t unix_now,
                                std::size_t& expired, std::string& error) {
  auto f = split(line, 8);
  if (f[0] == "ban")
    return load_ban(split(line, 7), now, unix_now, expired, error);
  if (f[0] == "rep")
    return load_rep(f, now, unix_now, error);
  error = "not a record ('ban' or 'rep')";
  return false;
}

bool security_policy::load_ban(const std::vector<std::string_view>& f, time_point now,
                               std::int64_t unix_now, std::size_t& expired, std::string& error) {
  // ban <subnet> <manual|auto> <created> <until|forever> <offences> <reason|offence>
  if (f.size() != 7) {
    error = "a ban has 7 fields";
    return false;
  }
  auto net = subnet::parse(f[1]);
  auto created = parse_time(f[3], now, unix_now);
  auto until = f[4] == "forever" ? std::optional{forever} : parse_time(f[4], now, unix_now);
  ban_record rec;
  auto kind = parse_offence(f[6]);
  if (!net)
    error = "not a subnet: '" + std::string{f[1]} + "'";
  else if (f[2] != "manual" && f[2] != "auto")
    error = "a ban is 'manual' or 'auto'";
  else if (!created || !until)
    error = "a time is not Unix seconds within 200 years of now";
  else if (!parse_number(f[5], rec.offences))
    error = "the offence count is not a number";
  else if (f[2] == "auto" && !kind)
    error = "not an offence: '" + std::string{f[6]} + "'";
  else if (auto t = bans_.find(net->prefix_len); t != bans_.end() && t->second.contains(net->base))
    error = "a second ban of " + net->format();
  if (!error.empty())
    return false;
  if (*until <= now) {
    ++expired; // it ran out while the node was down
    return true;
  }
  rec.created = *created;
  rec.until = *until;
  rec.manual = f[2] == "manual";
  if (rec.manual)
    rec.reason = sanitize(std::string{f[6]});
  else
    rec.kind = *kind;
  place_ban(*net, std::move(rec), now);
  return true;
}

bool security_policy::load_rep(const std::vector<std::string_view>& f, time_point now,
                               std::int64_t unix_now, std::string& error) {
  // rep <ip> <score> <at> <offences> <last offence> <streak> <streak start|->
  auto ip = f.size() == 8 ? parse_ip(f[1]) : std::nullopt;
  double score = -1;
  std::uint32_t offences = 0;
  unsigned streak = 0;
  std::optional<time_point> at, start;
  std::optional<offence> last;
  if (ip) {
    at = parse_time(f[3], now, unix_now);
    last = parse_offence(f[5]);
    start = f[7] == "-" ? std::optional{time_point{}} : parse_time(f[7], now, unix_now);
  }
  if (f.size() != 8)
    error = "a reputation has 8 fields";
  else if (!ip)
    error = "not an address: '" + std::string{f[1]} + "'";
  else if (!parse_number(f[2], score) || !(score >= 0 && score <= max_score))
    error = "the score is not a number from 0 to 1e9";
  else if (!at || !start)
    error = "a time is not Unix seconds within 200 years of now";
  else if (!parse_number(f[4], offences) || !last)
    error = "the offence count or the last offence is not valid";
  else if (!parse_number(f[6], streak) || streak > 255 || (streak == 0) != (f[7] == "-"))
    error = "the ban streak is not a count with its start";
  else if (reputation_.contains(*ip))
    error = "a second reputation of " + format_ip(*ip);
  if (!error.empty())
    return false;
  auto& r = track(*ip, now);
  evict_order_.erase(key_of(*ip, r));
  r.score = score;
  r.updated = std::min(*at, now); // a clock that went backwards does not stop the decay
  r.offences = offences;
  r.last = *last;
  r.streak = static_cast<std::uint8_t>(streak);
  r.streak_start = *start;
  evict_order_.insert(key_of(*ip, r));
  return true;
}

} // namespace qtc
