// The node's security policy: what each address did wrong, what to do about it, who is banned.
//
// Replaces ban_list's "every violation bans for a day" with Bitcoin Core's ideas (banman,
// net_permissions, the eviction logic) put together as one pure decision table:
//
//   reputation   every offence adds its weight (weight()) to the address's score, which halves
//                every `score_half_life`; the decayed score is computed when asked, from the
//                time of the last update, so nothing runs in the background
//   response     the score picks a rung of the verdict ladder: warn, throttle, discourage and,
//                at `ban_threshold`, an automatic ban that resets the score to zero
//   escalation   a further automatic ban of the same address within `repeat_window` of the
//                first of its streak lasts twice as long as the one before; the
//                `permanent_after`-th is forever
//   aggregation  when `prefix_ban_after` addresses of one subnet (subnet_of) are banned
//                automatically, the subnet is banned in their place
//   operator     manual bans of any subnet, and an allowlist granting peer_permissions
//   admission    per-address and per-subnet counts of live inbound connections
//
// Memory is bounded (max_tracked_addresses, max_bans) whatever the number of attacking
// addresses, and every query is a handful of ordered-map lookups. Time is a parameter of every
// call (steady_clock time points); the persistence format converts to Unix seconds.
//
// Sans-IO: the security manager actor owns one of these, feeds it offences and connection
// events, and asks it before every connection.
#pragma once

#include "messages/security.hpp"
#include "runtime/net/ip_address.hpp"
#include "runtime/net/subnet.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace qtc {

class security_policy {
public:
  using time_point = std::chrono::steady_clock::time_point;

  struct config {
    /// The score that bans (the chain spec's ban_threshold).
    std::uint32_t ban_threshold = 100;
    /// At or above: never dialed; inbound only when there is room, and evicted first. Three
    /// quarters of the ban: an address must have misbehaved seriously, not once or twice.
    std::uint32_t discourage_score = 75;
    /// At or above: its sessions are read more slowly until the score decays.
    std::uint32_t throttle_score = 50;
    /// At or above: logged as a warning. Above the lightest offences (bad checksum, one
    /// handshake failure), which every buggy client commits now and then.
    std::uint32_t warn_score = 20;
    /// The score halves every this long (≥ 1 s): an address that stops misbehaving is back to
    /// none within a few hours, while a steady offender accumulates.
    std::chrono::seconds score_half_life{3600};
    /// The first automatic ban (the chain spec's ban_duration).
    std::chrono::seconds ban_duration{86400};
    /// Automatic bans within this long of the first ban of a streak escalate.
    std::chrono::seconds repeat_window{30 * 86400};
    /// The automatic ban within the window that is forever (0: none is).
    std::uint32_t permanent_after = 3;
    /// Live inbound connections from one address (noban addresses are exempt).
    std::uint32_t max_connections_per_ip = 3;
    /// Live inbound connections from one subnet_of() (noban addresses are exempt).
    std::uint32_t max_connections_per_subnet = 10;
    /// The subnet an IPv4 address belongs to: /24, the smallest block routed on the Internet,
    /// and what one hosting customer usually holds.
    std::uint8_t subnet_prefix_v4 = 24;
    /// The subnet an IPv6 address belongs to: /48. A /64 is a single LAN, and a home or VPS
    /// customer is usually handed a /56 or a /48, so a /48 groups one site. Core groups by /32
    /// for outbound diversity (one provider), which would let one attacker block a whole
    /// provider; go-libp2p's resource manager limits at /56 and /48.
    std::uint8_t subnet_prefix_v6 = 48;
    /// Reputation entries kept (~175 bytes of heap each, ~400 with a ban: qtc-bench-security).
    std::size_t max_tracked_addresses = 65536;
    /// Bans kept, manual and automatic, address and subnet.
    std::size_t max_bans = 65536;
    /// Automatically banned addresses in one subnet_of() that ban the subnet instead (0: never).
    std::uint32_t prefix_ban_after = 8;
    /// The SipHash key of the reputation table's hash: the caller fills it from its random
    /// source, so that nobody can pick addresses that collide (an IPv6 attacker has 2^80 in its
    /// /48 to choose from) and turn lookups linear. Zero works, but only for tests.
    std::array<std::uint8_t, 16> hash_key{};
  };

  /// What record() decided.
  struct outcome {
    verdict v = verdict::none;
    /// The score the verdict was decided on (after this offence; a ban then resets it to 0).
    double score = 0;
    /// When v is ban: the ban's end (nothing when v is ban_forever).
    std::optional<time_point> ban_until;
    /// A new ban entry was stored for the address (false when a ban already covered it, or the
    /// table was full of stronger bans: v still says ban, and the peer must go).
    bool newly_banned = false;
    /// This ban completed prefix aggregation: subnet_of(ip) is now banned as a whole.
    bool subnet_banned = false;
  };

  /// What admit_inbound() decides about an inbound connection (messages/security.hpp).
  using admission = qtc::admission;

  /// One ban, as list_bans() shows it.
  struct ban_entry {
    qtc::subnet net;
    std::string reason;         ///< the operator's, or the offence that triggered an automatic ban
    std::uint32_t offences = 0; ///< offences recorded of the address(es) when banned
    time_point created;
    std::optional<time_point> until; ///< nothing: forever
    bool manual = false;
    friend bool operator==(const ban_entry&, const ban_entry&) = default;
  };

  /// Score histogram buckets: bucket i counts scores below histogram_bounds[i] (and at or above
  /// the bound before it); the last bucket counts the rest.
  static constexpr std::array<double, 6> histogram_bounds{1, 10, 20, 50, 75, 100};

  struct stats {
    std::size_t address_bans = 0; ///< automatic, one address each
    std::size_t subnet_bans = 0;  ///< automatic, from prefix aggregation
    std::size_t manual_bans = 0;
    std::size_t forever_bans = 0; ///< of all the above, those without an end
    std::size_t tracked = 0;      ///< reputation entries
    std::size_t throttled = 0;    ///< tracked, decayed score in [throttle, discourage)
    std::size_t discouraged = 0;  ///< tracked, decayed score ≥ discourage_score
    std::array<std::size_t, histogram_bounds.size() + 1> histogram{};
  };

  /// What load() read (defined after the class, which it holds).
  struct load_result;

  security_policy();
  explicit security_policy(config cfg);

  const config& settings() const {
    return cfg_;
  }

  /// How far one occurrence moves an address towards a ban (see the table in the .cpp).
  static std::uint32_t weight(offence kind);

  /// The subnet `ip` is counted and aggregated in: subnet_prefix_v4 / subnet_prefix_v6.
  subnet subnet_of(const ip_bytes& ip) const;

  // --- reputation ----------------------------------------------------------------------------

  /// Adds the offence's weight to the decayed score of `ip` and returns the strongest verdict it
  /// reaches. A noban address gets at most warn.
  outcome record(const ip_bytes& ip, offence kind, time_point now);

  /// The decayed score of `ip` (0 if untracked).
  double score(const ip_bytes& ip, time_point now) const;

  // --- admission -----------------------------------------------------------------------------

  /// For admission: ban / ban_forever under an active ban (address or subnet, manual or
  /// automatic), discourage / throttle by decayed score, otherwise none (warn is not a state).
  /// A noban address is always none, whatever covers it (as in Core).
  verdict standing(const ip_bytes& ip, time_point now) const;

  /// Whether an outbound connection to `ip` is allowed: not banned, not discouraged.
  bool may_dial(const ip_bytes& ip, time_point now) const;

  /// Whether an inbound connection from `ip` may be accepted, by its standing and the counts of
  /// the connections already open (asked before connection_opened for this one). noban
  /// addresses are always accepted.
  admission admit_inbound(const ip_bytes& ip, time_point now) const;

  /// An inbound connection from `ip` opened / closed (every one is counted, noban ones too).
  void connection_opened(const ip_bytes& ip);
  void connection_closed(const ip_bytes& ip);
  /// Forgets every count (then connection_opened for each connection still open: a restarted
  /// security manager is told them by the peer manager).
  void reset_connections();
  std::uint32_t connections_from(const ip_bytes& ip) const;
  std::uint32_t connections_from(const subnet& net) const;
  /// Every connection counted.
  std::size_t open_connections() const;

  // --- operator ------------------------------------------------------------------------------

  /// Bans `net` until `until` (nothing: forever). Replaces any ban of the same subnet, so the
  /// operator may also shorten one. `reason` is kept (control characters become spaces, at most
  /// 200 bytes). False if `until` is not after `now`, or the table is full of manual bans.
  bool ban(const subnet& net, std::optional<time_point> until, std::string reason, time_point now);

  /// Lifts the ban of exactly `net`; false if there was none. The history stays: an unbanned
  /// repeat offender escalates as it would have.
  bool unban(const subnet& net);

  /// Lifts every ban (reputation and histories stay).
  void clear_bans();

  /// The active bans, by subnet.
  std::vector<ban_entry> list_bans(time_point now) const;

  /// Sets the permissions of `net` (all false: removes the entry).
  void allow(const subnet& net, peer_permissions perms);

  /// The union of the permissions of every allowlist entry containing `ip`.
  peer_permissions permissions_of(const ip_bytes& ip) const;

  // --- housekeeping --------------------------------------------------------------------------

  /// Drops expired bans, and reputation entries with a score below 1 whose ban history is over.
  void prune(time_point now);

  stats statistics(time_point now) const;

  std::size_t tracked() const {
    return reputation_.size();
  }
  std::size_t ban_count() const {
    return ban_order_.size();
  }

  // --- persistence ---------------------------------------------------------------------------

  /// The bans and the reputation worth keeping, as text (format in the .cpp); times as Unix
  /// seconds, `now` being `unix_now`.
  std::string save(time_point now, std::int64_t unix_now) const;

  /// Reads save()'s output under `cfg`, `now` being `unix_now`. Every bound is checked before
  /// anything is allocated; a corrupted, truncated or foreign file is rejected whole.
  static load_result load(std::string_view text, time_point now, std::int64_t unix_now, config cfg);

private:
  /// What the policy knows of one address.
  struct reputation {
    double score = 0;           ///< as of `updated`
    time_point updated;         ///< the last offence (or ban)
    time_point streak_start;    ///< the first automatic ban of the current streak
    std::uint32_t offences = 0; ///< every offence recorded
    std::uint8_t streak = 0;    ///< automatic bans in the current streak
    offence last = offence::protocol_violation;
  };

  /// The eviction order of reputation entries: entries without a ban history first, then by
  /// decayed score (log2(score) + updated / half-life orders them as their decayed scores do,
  /// at any time, because every score decays at the same rate), then oldest.
  struct evict_key {
    bool history = false;
    double rank = 0;
    time_point updated;
    ip_bytes ip{};
    friend auto operator<=>(const evict_key&, const evict_key&) = default;
  };

  struct ban_record {
    time_point created;
    time_point until; ///< time_point::max(): forever
    std::uint64_t seq = 0;
    std::uint32_t offences = 0;
    offence kind = offence::protocol_violation; ///< automatic bans: what triggered it
    bool manual = false;
    std::string reason; ///< manual bans: the operator's
  };

  /// The order in which a full table drops bans: automatic before manual, then soonest end
  /// (forever last), then oldest.
  struct ban_key {
    bool manual = false;
    time_point until;
    std::uint64_t seq = 0;
    qtc::subnet net;
    friend auto operator<=>(const ban_key&, const ban_key&) = default;
  };

  /// Entries by prefix length (longest first), then by masked base: a lookup is one map find per
  /// prefix length in use.
  template <class T>
  using prefix_table = std::map<std::uint8_t, std::map<ip_bytes, T>, std::greater<>>;

  double decayed(const reputation& r, time_point now) const;
  evict_key key_of(const ip_bytes& ip, const reputation& r) const;
  reputation& track(const ip_bytes& ip, time_point now);
  /// SipHash-2-4 of the address under the config's key.
  struct keyed_hash {
    std::array<std::uint8_t, 16> key{};
    std::size_t operator()(const ip_bytes& ip) const;
  };
  using reputation_table = std::unordered_map<ip_bytes, reputation, keyed_hash>;

  void untrack(reputation_table::iterator i);
  void drop_dead(time_point now);
  bool history_live(const reputation& r, time_point now) const;

  /// The active ban covering `ip` that ends last, if any.
  const ban_record* covering_ban(const ip_bytes& ip, time_point now) const;
  bool place_ban(const subnet& net, ban_record rec, time_point now);
  void erase_ban(const subnet& net);
  void escalate(const ip_bytes& ip, reputation& r, time_point now, outcome& out);
  bool aggregate(const ip_bytes& ip, time_point now);
  bool load_line(std::string_view line, time_point now, std::int64_t unix_now, std::size_t& expired,
                 std::string& error);
  bool load_ban(const std::vector<std::string_view>& f, time_point now, std::int64_t unix_now,
                std::size_t& expired, std::string& error);
  bool load_rep(const std::vector<std::string_view>& f, time_point now, std::int64_t unix_now,
                std::string& error);

  config cfg_;
  reputation_table reputation_; ///< hashed: the lookup every query makes is one or two probes
  std::set<evict_key> evict_order_;
  prefix_table<ban_record> bans_;
  std::set<ban_key> ban_order_;
  std::uint64_t next_seq_ = 0;
  prefix_table<peer_permissions> allowlist_;
  std::map<ip_bytes, std::uint32_t> per_ip_;
  std::map<subnet, std::uint32_t> per_subnet_;
};

struct security_policy::load_result {
  std::optional<security_policy> policy; ///< nothing: the file was rejected
  std::string error;                     ///< "line N: what is wrong"
  std::size_t expired_bans = 0;          ///< bans in the file that had run out
};

} // namespace qtc
