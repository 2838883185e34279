// Attack pattern recognition: named detectors over the offences peers commit and the
// connections they open, each counting events per subnet and node-wide within a window.
//
// One offence is the policy's business (security_policy weighs it against the address). A
// pattern is this class's: many connections or handshake failures from one subnet within a
// minute, or the same static identity key on many addresses, is an attack even when each
// address stays below every per-address limit. Each detector has
//   - a name (kebab-case, a fixed set: it is a metric label and a log field);
//   - the events that feed it (see detector_for; connection_churn is fed by observe_connection
//     and shared_identity by identity_seen, not by the offences of those names, which are what
//     the caller reports when the detectors fire, so feeding them back would count twice);
//   - a window, counted in 6 buckets of window/6 (an event counts for between 5/6 of the window
//     and the whole window; memory is constant per subnet);
//   - a subnet threshold: an event whose subnet has that many events in the window (this one
//     included) "fires", and so does every further one while the count stays there, so that the
//     caller can escalate each address the subnet attacks from;
//   - an alert threshold: an event that brings the node-wide count within the window to it
//     raises an alert (a log line for the operator: a distributed attack shows there even when
//     no subnet fires). At most one alert per detector per alert_interval (60 s); every event
//     at or past the threshold in between is a suppressed alert, counted and reported with the
//     next alert.
//
// Subnets are IPv4 /24 and IPv6 /48 by default (configurable): /48 is what a site is given, so
// an attacker with one IPv6 allocation has one subnet here rather than 65,536 /64s.
//
// Bounded memory whatever the attacker's address space: each detector keeps at most
// `max_subnets` (4,096) subnets and forgets the least recently seen one first (its count is
// then 0, as if its events had aged out: a subnet stays counted while fewer than max_subnets
// others have had events since its own last one; the node-wide count, which needs no table,
// still sees everything). The identity table keeps at most `max_identities` (4,096) keys the
// same way, and at most 64 addresses per key.
//
// Pure and deterministic: time is passed in.
#pragma once

#include "messages/security.hpp"
#include "runtime/net/ip_address.hpp"
#include "runtime/net/subnet.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <list>
#include <map>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace qtc {

enum class detector : std::uint8_t {
  connection_churn,   ///< connections opened (observe_connection)
  handshake_failures, ///< handshake_failure
  slowloris,          ///< slow_handshake, silent_peer
  addr_flood,         ///< addr_flood
  inv_flood,          ///< inv_flood
  getdata_flood,      ///< getdata_flood
  amplification,      ///< getdata_amplification
  header_spam,        ///< header_spam
  malformed,          ///< bad_checksum, malformed_message, oversized_message, unknown_message
  ping_flood,         ///< ping_flood
  shared_identity,    ///< one static key on many addresses (identity_seen)
};

inline constexpr std::size_t detector_count =
    static_cast<std::size_t>(detector::shared_identity) + 1;

/// The kebab-case name ("connection-churn", ..., "shared-identity").
std::string_view name(detector d);

/// The detector named `text` (as name() writes it), if any.
std::optional<detector> parse_detector(std::string_view text);

/// The detector an offence feeds, if any (protocol_violation, rate_exceeded, invalid_header,
/// invalid_block, relay_violation, connection_churn and shared_identity feed none).
std::optional<detector> detector_for(offence kind);

/// A static identity key (the transport's 32-byte public key).
using identity_key = std::array<std::uint8_t, 32>;

/// What one event made a detector say.
struct detection {
  detector which = detector::connection_churn;
  ip_bytes ip{};                ///< the event's address
  ip_bytes subnet{};            ///< its subnet's base (subnet_of, runtime/net/subnet)
  std::uint8_t prefix = 0;      ///< the subnet's prefix length (IPv4: of 32 bits)
  std::uint32_t count = 0;      ///< the subnet's events in the window (shared_identity: the
                                ///< key's distinct addresses)
  std::uint32_t node_count = 0; ///< node-wide events in the window (shared_identity: firings)
  bool fired = false;           ///< count reached the subnet threshold
  bool alert = false;           ///< node_count reached the alert threshold: log it now
  std::uint64_t suppressed = 0; ///< with an alert: alerts held back since the previous one
  friend bool operator==(const detection&, const detection&) = default;
};

class attack_detectors {
public:
  using time_point = std::chrono::steady_clock::time_point;

  /// One detector's numbers. A threshold of 0 disables that part.
  struct thresholds {
    std::chrono::seconds window{60};
    std::uint32_t subnet = 0; ///< events from one subnet in the window that fire
                              ///< (shared_identity: distinct addresses of one key, ≤ 64)
    std::uint32_t alert = 0;  ///< node-wide events in the window that alert
  };

  /// The defaults (every window 60 s unless said):
  ///   connection-churn 20 / 200, handshake-failures 10 / 100, slowloris 10 / 100,
  ///   addr-flood 5 / 50, inv-flood 5 / 50, getdata-flood 5 / 50, amplification 3 / 30,
  ///   header-spam 5 / 50, malformed 10 / 100, ping-flood 5 / 50,
  ///   shared-identity 4 addresses of one key within 600 s / 1 firing.
  /// Offences are reported after the per-peer limits were already passed, so a few per subnet
  /// are a pattern; connections and handshake failures also happen to honest peers (a
  /// restarting node, a NAT's many hosts), so their thresholds are higher. An honest node has
  /// an IPv4 and an IPv6 address and may change one, so 3 addresses in 10 minutes are normal
  /// for a key and the 4th fires.
  static thresholds default_thresholds(detector d);

  struct config {
    std::array<thresholds, detector_count> detectors = defaults();
    std::chrono::seconds alert_interval{60}; ///< at most one alert per detector per interval
    std::size_t max_subnets = 4096;          ///< per detector
    std::size_t max_identities = 4096;
    std::uint8_t prefix_v4 = 24;
    std::uint8_t prefix_v6 = 48;

    thresholds& operator[](detector d) {
      return detectors[static_cast<std::size_t>(d)];
    }
    const thresholds& operator[](detector d) const {
      return detectors[static_cast<std::size_t>(d)];
    }
    static std::array<thresholds, detector_count> defaults();
  };

  /// Per detector, for metrics (labels: the detector names, a fixed set).
  struct detector_stats {
    std::uint64_t fired = 0;      ///< detections that fired
    std::uint64_t alerts = 0;     ///< alerts raised
    std::uint64_t suppressed = 0; ///< alerts held back by alert_interval
  };

  /// Addresses remembered per key (the least recently seen is forgotten first).
  static constexpr std::size_t max_addresses_per_identity = 64;

  attack_detectors();
  explicit attack_detectors(config c);

  /// An offence of a peer at `ip`. Empty if it feeds no detector or nothing fired or alerted;
  /// otherwise the detection (one today: every event feeds one detector).
  std::vector<detection> observe(offence kind, const ip_bytes& ip, time_point now);

  /// A connection (either direction) opened to or from `ip`.
  std::vector<detection> observe_connection(const ip_bytes& ip, time_point now);

  /// A peer at `ip` proved it holds the static key `key` (its handshake completed). Fires when
  /// the key has been seen from `thresholds.subnet` distinct addresses within the window (the
  /// same address again counts once).
  std::vector<detection> identity_seen(const identity_key& key, const ip_bytes& ip, time_point now);

  const detector_stats& stats(detector d) const {
    return states_[static_cast<std::size_t>(d)].totals;
  }
  /// Subnets with state in `d`'s table (for tests of the bounds).
  std::size_t tracked_subnets(detector d) const {
    return states_[static_cast<std::size_t>(d)].subnets.rows.size();
  }
  std::size_t tracked_identities() const {
    return identities_.rows.size();
  }

private:
  /// Events in a window of 6 buckets; `slot` is time / (window / 6).
  class bucketed_count {
  public:
    std::uint32_t add(std::int64_t slot); ///< returns the count including this event
    std::uint32_t total(std::int64_t slot) const;

  private:
    static constexpr std::int64_t buckets = 6;
    static std::size_t index(std::int64_t slot) {
      return static_cast<std::size_t>(((slot % buckets) + buckets) % buckets);
    }
    std::array<std::uint32_t, buckets> counts_{};
    std::int64_t last_slot_ = 0;
  };

  /// Least recently seen first out, at most `limit` keys.
  template <class Key, class Row>
  struct lru_table {
    struct slot {
      Row row;
      typename std::list<Key>::iterator position;
    };
    std::map<Key, slot> rows;
    std::list<Key> order; ///< most recently seen first
    Row& touch(const Key& key, std::size_t limit);
  };

  struct sightings {
    std::vector<std::pair<ip_bytes, time_point>> addresses; ///< at most 64
  };

  struct state {
    lru_table<ip_bytes, bucketed_count> subnets;
    bucketed_count node;
    std::optional<time_point> last_alert;
    std::uint64_t held_back = 0; ///< alerts suppressed since the last one raised
    detector_stats totals;
  };

  std::int64_t slot(detector d, time_point now) const;
  std::vector<detection> conclude(detector d, const ip_bytes& ip, std::uint32_t count,
                                  std::uint32_t node_count, time_point now);
  std::vector<detection> count_event(detector d, const ip_bytes& ip, time_point now);

  config config_;
  std::array<state, detector_count> states_;
  lru_table<identity_key, sightings> identities_;
};

/// Applies one operator setting `name:subnet:alert[:window_seconds]` (e.g.
/// `connection-churn:40:400`, `slowloris:5:50:120`) to `c`. Returns what is wrong with it, or
/// nothing: the name must be a detector's, the thresholds 0 (off) to 1,000,000 (shared-identity's
/// subnet threshold at most 64, the addresses kept per key), the window 6 s to a day.
std::optional<std::string> apply_detector_setting(std::string_view text,
                                                  attack_detectors::config& c);

} // namespace qtc
