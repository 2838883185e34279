// The peer manager's state: its pool of sessions, the operator's peers, the address tables and
// the counters its status shows. Internal to the peer manager's files (actors/peer_*.cpp);
// others use actors/peer_manager.hpp.
#pragma once

#include "actors/peer_dialer.hpp"
#include "actors/support/logger.hpp"
#include "actors/support/metered.hpp"
#include "actors/support/metrics_client.hpp"
#include "actors/support/sibling.hpp"
#include "actors/support/unix_clock.hpp"
#include "messages/interfaces.hpp"
#include "runtime/chain/chain_spec.hpp"
#include "runtime/net/address_manager.hpp"
#include "runtime/net/allowlist.hpp"
#include "runtime/net/ban_list.hpp"
#include "runtime/net/ip_address.hpp"
#include "runtime/net/relay_filter.hpp"
#include "runtime/net/report_gate.hpp"
#include "runtime/net/token_bucket.hpp"
#include "runtime/session/peer_session_core.hpp"
#include "runtime/transport/channel_select.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/system_messages.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace qtc {

/// Pool sizes and the operator's peers.
struct peer_pool_options {
  std::uint32_t max_connections = 125;        ///< total (the chain spec's)
  std::uint32_t full_relay_slots = 8;         ///< automatic outbound full-relay connections
  std::uint32_t block_relay_slots = 2;        ///< automatic outbound block-relay-only connections
  std::vector<network_address_entry> connect; ///< --connect: only these, no automatic outbound
  std::vector<network_address_entry> addnode; ///< --addnode: kept connected, besides the slots
  std::vector<allow_entry> allow; ///< --allow: noban peers pass the inbound limits, never evicted
  std::chrono::seconds manual_retry{5};   ///< how often a lost manual peer is retried
  std::uint32_t max_pending_connects = 4; ///< outbound attempts under way at once
  std::uint64_t seed = 0;                 ///< RNG seed (0: from the system RNG)
  /// Mean time between feeler connections (exponentially distributed, as in Core); 0: none.
  std::chrono::seconds feeler_interval{120};
  /// An automatic outbound peer behind our chain that delivered nothing new for this long is
  /// replaced (Core's chain-sync timeout is 20 minutes).
  std::chrono::seconds poor_peer_timeout{20 * 60};
  /// How often discovery is asked for more addresses while the address manager is short.
  std::chrono::seconds refresh_interval{60};
};

/// A peer's score: what its session measured and what it delivered. Shown in the status and
/// used by eviction (inbound) and replacement (outbound).
struct peer_score {
  using time_point = std::chrono::steady_clock::time_point;
  std::optional<std::int64_t> min_ping_us;
  std::optional<std::int64_t> last_ping_us;
  std::uint64_t bytes_sent = 0;
  std::uint64_t bytes_received = 0;
  std::uint64_t messages_sent = 0;
  std::uint64_t messages_received = 0;
  std::uint64_t useful_headers = 0; ///< headers that extended our tree
  std::uint64_t useful_blocks = 0;  ///< blocks we asked for and accepted
  time_point last_useful{};         ///< when it last delivered a new header or block
  time_point last_block{};          ///< when it last delivered a new block (epoch: never)
  time_point last_tx{};             ///< when it last delivered a new transaction (epoch: never)
  std::int32_t best_height = -1;    ///< the best height it has shown us
};

/// One session the manager knows, from spawn to close.
struct pool_entry {
  peer_session_actor session;
  connection_type type = connection_type::inbound;
  ip_bytes ip{};
  std::uint16_t port = 0;
  transport_kind transport = transport_kind::noise;
  std::optional<node_id> pinned;
  bool ready = false;
  bool getaddr_answered = false; ///< getaddr is answered once per connection
  /// We sent it getaddr and no answer came yet: its next addr is that answer, never relayed.
  bool getaddr_sent = false;
  bool wants_addrv2 = false;
  /// Addresses this peer may still send us: 0.1/s, 1000 granted with our getaddr (Core's rule).
  std::optional<token_bucket> addr_tokens;
  std::uint64_t addresses_rate_limited = 0;
  report_gate floods; ///< its floods reported to the security manager, once a minute per kind
  std::optional<std::size_t> manual; ///< index into the manual peers
  peer_info info;
  std::chrono::steady_clock::time_point started;
  peer_score score;
  bool closing = false;  ///< asked to close (evicted, replaced, feeler done): holds no slot
  bool admitted = false; ///< inbound, counted by the security manager: told when it closes
  /// When the peer, looking behind, was asked for headers from our tip (none: not asked).
  std::optional<std::chrono::steady_clock::time_point> probed;
};

/// A manual peer (--connect / --addnode) and when it may be tried again.
struct manual_peer {
  network_address_entry entry;
  ip_bytes ip{};
  std::optional<node_id> pinned;
  std::optional<std::uint64_t> session; ///< the pool entry while connected or connecting
  std::chrono::steady_clock::time_point next_try{};
  bool once = false;    ///< the operator's `addnode onetry`: not tried again once it ended
  bool removed = false; ///< `addnode remove` (or a one-try that ended): never dialled again
};

struct peer_manager_state {
  logger log;
  metrics_client metrics;
  std::shared_ptr<const chain_spec> spec;
  std::shared_ptr<const channel_context> context;
  session_settings settings; ///< the template every session starts from
  peer_pool_options pool;
  std::string address; ///< host:port the listener is bound to
  std::shared_ptr<peer_dialer> dialer;
  supervisor_actor parent;
  sibling<sync_actor> sync; ///< found through the parent: no sessions start without it
  std::mt19937_64 rng;
  std::uint64_t next_id = 1;
  std::map<std::uint64_t, pool_entry> entries;
  std::uint64_t total_bytes_sent = 0;     ///< to every peer since start (getnettotals)
  std::uint64_t total_bytes_received = 0; ///< from every peer since start
  std::vector<manual_peer> manual;
  std::unique_ptr<address_manager> addrman; ///< known addresses (keyed new/tried tables)
  relay_filter relayed{{}};                 ///< announcements already passed on (keyed at start)
  bool addrman_dirty = false;               ///< changed since it was last stored
  bool addrman_loaded = false;              ///< the stored tables were read (or there were none)
  sibling<storage_actor> storage;           ///< where the tables are kept
  std::chrono::steady_clock::time_point last_save{};
  unix_clock unix; ///< Unix time on the actor clock (address ages)
  /// Who may not connect, and each address's violations (kept after its ban ran out): the seam
  /// to the security policy (runtime/net/ban_list.hpp).
  ban_list bans;
  std::deque<peer_closed> recent_closes; ///< the last 32, for status
  std::map<std::string, std::uint64_t> closes_by_reason;
  std::uint64_t inbound_refused = 0;
  std::uint64_t inbound_evicted = 0;
  std::uint64_t outbound_replaced = 0;
  std::uint64_t feelers_started = 0;
  std::uint64_t feelers_succeeded = 0;
  std::chrono::steady_clock::time_point next_feeler{};
  std::chrono::steady_clock::time_point last_poor_check{};
  std::array<std::uint8_t, 16> group_key{}; ///< keys the network-group hash eviction protects by
  bool addresses_short = false; ///< a slot wanted an address the address manager did not have
  std::chrono::steady_clock::time_point last_refresh{};
  std::uint64_t refreshes = 0;
  std::uint64_t traffic_bytes = 0; ///< peer bytes both ways since traffic_since (bandwidth gauge)
  std::chrono::steady_clock::time_point traffic_since{};
  sibling<discovery_actor> discovery; ///< asked for more when addresses run short
  /// Decides bans (found through the parent; without one, violations ban locally).
  sibling<security_actor> security;
  bool security_missing_said = false; ///< its absence was logged (once per absence)
  /// Where we can be reached (found through the parent): what we advertise and put in versions.
  sibling<nat_actor> nat;
  self_advertisement advertised; ///< the NAT mapper's last word (unknown until it speaks)
  bool closed_any = false;       ///< a session has closed (free memory is released after closes)
  caf::actor_clock::time_point last_trim{};  ///< when it last was
  caf::actor_clock::time_point last_close{}; ///< when a session last closed
  /// Addresses whose offence the security manager is weighing: not connected to meanwhile, so
  /// that a ban cannot miss a reconnect in the moment before it arrives.
  std::multiset<ip_bytes> awaiting_verdict;
  static inline const char* name = "peer_manager";
};

using peer_manager_pointer = metered_pointer<peer_manager_actor, peer_manager_state>;

// What the peer manager's files share. Each function's comment is at its definition.

// actors/peer_pool.cpp: the pool's sessions from spawn to close.
std::size_t count_type(const peer_manager_state& st, connection_type t);
/// Sets the connections gauges (all ready peers; by direction and transport).
void report_peer_gauges(peer_manager_state& st);
std::uint32_t outbound_slots(const peer_manager_state& st);
std::uint32_t inbound_slots(const peer_manager_state& st);
std::int64_t unix_now(peer_manager_pointer self);
std::uint64_t spawn_session(peer_manager_pointer self, connection_type type, const ip_bytes& ip,
                            std::uint16_t port, transport_kind transport,
                            std::optional<node_id> pinned, std::optional<std::size_t> manual);
void on_ready(peer_manager_pointer self, peer_info& info);
void record_close(peer_manager_pointer self, const peer_closed& closed);
bool on_session_down(peer_manager_pointer self, const caf::down_msg& msg);

// actors/peer_outbound.cpp: outbound slots, the operator's peers, feelers, replacement.
std::optional<node_id> parse_pin(const std::string& hex);
std::optional<manual_peer> make_manual(const network_address_entry& entry, std::string& error);
/// The manual peer an operator's `[tls:][<pubkey>@]ip:port` names; nullopt with `error` if none.
std::optional<manual_peer> make_manual(const std::string& text, std::string& error);
bool connect_outbound(peer_manager_pointer self, connection_type type, const ip_bytes& ip,
                      std::uint16_t port, transport_kind transport, std::optional<node_id> pinned,
                      std::optional<std::size_t> manual);
void connect_manual(peer_manager_pointer self, const std::string& text);
// peer_operator.cpp: the operator's RPC commands (addnode, disconnectnode)
caf::result<bool> add_node(peer_manager_pointer self, const std::string& text, bool keep);
bool remove_node(peer_manager_pointer self, const std::string& text);
bool disconnect_node(peer_manager_pointer self, const std::string& address, std::uint64_t id);
void find_sync(peer_manager_pointer self);
void fill_slots(peer_manager_pointer self);
void maybe_start_feeler(peer_manager_pointer self);
void replace_poor_outbound(peer_manager_pointer self);
std::set<std::vector<std::uint8_t>> outbound_groups(const peer_manager_state& st);

// actors/peer_admission.cpp: inbound connections and the security seam.
bool may_connect(peer_manager_pointer self, const ip_bytes& ip);
bool may_dial(peer_manager_pointer self, const ip_bytes& ip);
void report_conduct(peer_manager_pointer self, const pool_entry& entry, const peer_closed& closed);
void report_flood(peer_manager_pointer self, std::uint64_t id, pool_entry& entry, offence kind,
                  const std::string& detail);
std::optional<offence> offence_of(const peer_closed& closed);
void find_security(peer_manager_pointer self);
void admission_closed(peer_manager_pointer self, const pool_entry& entry);
void on_bans(peer_manager_pointer self, const std::vector<ban_view>& bans);
void on_ban(peer_manager_pointer self, const ban_view& ban);
void accept_inbound(peer_manager_pointer self, const std::string& host, std::uint16_t port,
                    const accepted_link_actor& link);

// actors/peer_addresses.cpp: the address tables, address messages, discovery.
void load_addresses(peer_manager_pointer self);
void save_addresses(peer_manager_pointer self);
void on_address_message(peer_manager_pointer self, std::uint64_t id, p2p_message& msg);
void add_discovered(peer_manager_pointer self, const std::vector<discovered_peer>& found);
void ask_for_addresses(peer_manager_pointer self, pool_entry& e);
void refresh_discovery(peer_manager_pointer self);

// actors/peer_advertising.cpp: where we can be reached (the NAT mapper's word), told to peers.
std::optional<net_address> own_address(const peer_manager_state& st);
void advertise_self(peer_manager_pointer self, const pool_entry& e);
void find_nat(peer_manager_pointer self);
void on_advertisement(peer_manager_pointer self, const self_advertisement& adv);
void report_observed_address(peer_manager_pointer self, const pool_entry& e);

// actors/peer_scoring.cpp: scores, traffic metrics and the status report.
void on_activity(peer_manager_pointer self, const peer_activity& a);
void on_useful(peer_manager_pointer self, const peer_usefulness& u);
void update_bandwidth(peer_manager_pointer self);
status_report pool_status(peer_manager_pointer self, status_verbosity v);

} // namespace qtc
