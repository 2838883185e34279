// The catalog of the node's actor interfaces: every actor is declared here once, with a one-line
// comment per handler. All components answer the shared status protocol.
#pragma once

#include "messages/atoms.hpp"
#include "messages/block.hpp"
#include "messages/discovery.hpp"
#include "messages/log_record.hpp"
#include "messages/metric_update.hpp"
#include "messages/nat.hpp"
#include "messages/peer.hpp"
#include "messages/security.hpp"
#include "messages/status.hpp"
#include "messages/supervision.hpp"

#include <caf/io/system_messages.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace qtc {

// Three interfaces are declared beside the message types that carry their handles, and belong
// to this catalog all the same:
// - status_actor, the shared status protocol every interface below extends (messages/status.hpp);
// - supervisor_actor, a supervisor (messages/supervision.hpp: a child's start function gets it);
// - peer_link_actor and peer_session_actor, a connection's byte carrier and its session
//   (messages/peer.hpp: peer_info names the session), and accepted_link_actor, the accepting
//   end of a connection, which tcp_link_actor and memory_link_actor below extend.

/// Who receives log records: the log sink, and whoever follows the log (`qtc-inspect log
/// --follow` runs one in its own process).
using log_subscriber_actor = caf::typed_actor<
    // One record.
    caf::reacts_to<log_atom, log_record>>;

/// The log sink: writes one line per record, keeps the latest for the inspector, and passes
/// records on to those who follow the log.
using log_sink_actor = log_subscriber_actor::extend<
    // The latest records (at most log_backlog_size) from actors whose name starts with the
    // given text ("" for all) at the given level or more severe, oldest first.
    caf::replies_to<get_atom, log_atom, std::string, log_level>::with<std::vector<log_record>>,
    // From now on, sends the subscriber every record that matches the same filter, until it
    // goes down (the sink monitors it). At most max_log_followers at a time: false beyond.
    caf::replies_to<subscribe_atom, log_atom, std::string, log_level,
                    log_subscriber_actor>::with<bool>>;

/// How many of the latest records the log sink keeps for the inspector.
constexpr std::size_t log_backlog_size = 1000;
/// How many followers the log sink serves at once.
constexpr std::size_t max_log_followers = 8;

/// The metrics actor: owns the Prometheus registry and the HTTP exposer.
using metrics_actor = status_actor::extend<
    // Counts supervision events (restarts per actor).
    caf::reacts_to<supervision_event>,
    // Adds to a counter family's series: family, labels, amount (>= 0).
    caf::reacts_to<count_atom, std::string, metric_labels, double>,
    // Adds to several counter series at once (a peer's traffic by command: one message per
    // activity report, not two per command that moved).
    caf::reacts_to<count_atom, std::vector<metric_increment>>,
    // Sets a gauge family's series: family, labels, value.
    caf::reacts_to<gauge_atom, std::string, metric_labels, double>,
    // Observes a value into a histogram family's series: family, labels, value.
    caf::reacts_to<observe_atom, std::string, metric_labels, double>,
    // Observes several values into one series at once (a hot path's handling times, sent in
    // batches: one message per block was a fifth of the simulator's metrics traffic).
    caf::reacts_to<observe_atom, std::string, metric_labels, std::vector<double>>,
    // Sums of series, one per selector: a selector's "__name__" label names the family, its
    // other labels must all match (a series with more labels matches); 0 when none does.
    caf::replies_to<get_atom, metric_atom, std::vector<metric_labels>>::with<std::vector<double>>,
    // The health actor's latest verdicts, served as /health and /ready.
    caf::reacts_to<put_atom, health_snapshot>>;

/// The health actor: samples the node once a second and judges its health and readiness
/// (runtime/health/health_monitor), for the metrics actor to serve.
using health_actor = status_actor::extend<
    // (internal) Time to sample.
    caf::reacts_to<tick_atom>>;

/// The storage actor: owns the data directory and the LMDB chain store. Writes are durable
/// when the reply arrives.
using storage_actor = status_actor::extend<
    // Stores headers (one transaction for the whole batch).
    caf::replies_to<put_atom, headers_atom, std::vector<stored_header>>::with<bool>,
    // Stores a serialized block under its hash; `true` also makes it the best block.
    caf::replies_to<put_atom, block_atom, hash256, bytes, bool>::with<bool>,
    // Stores consecutive blocks in one transaction; `true` makes the last the best block.
    caf::replies_to<put_atom, block_atom, std::vector<stored_block>, bool>::with<bool>,
    // Returns every stored header (to rebuild the header tree at start-up).
    caf::replies_to<get_atom, headers_atom>::with<std::vector<stored_header>>,
    // Returns a serialized block (an error if it is not stored).
    caf::replies_to<get_atom, block_atom, hash256>::with<bytes>,
    // Returns several blocks read in one transaction, in the order asked (serving a getdata); a
    // block not stored comes back with empty bytes.
    caf::replies_to<get_atom, block_atom, std::vector<hash256>>::with<std::vector<stored_block>>,
    // Returns the best block's hash (there always is one: genesis is stored at start).
    caf::replies_to<get_atom, best_atom>::with<hash256>,
    // Stores the address manager's tables.
    caf::replies_to<put_atom, peers_atom, bytes>::with<bool>,
    // Returns the stored address manager tables (empty if none).
    caf::replies_to<get_atom, peers_atom>::with<bytes>,
    // Stores the security manager's ban table (its text format).
    caf::replies_to<put_atom, bans_atom, bytes>::with<bool>,
    // Returns the stored ban table (empty if none).
    caf::replies_to<get_atom, bans_atom>::with<bytes>>;

/// The inspector: the node's live-inspection endpoint, published as a CAF remote actor so that
/// `qtc-inspect` (or any CAF node) can attach to a running node. Every request carries the
/// inspector cookie (`<data-dir>/.inspect-cookie`, new each start) or ""; actions always need it,
/// and every request does when the inspector listens on a non-loopback address
/// (runtime/inspect/inspector_access). A refused request gets errc::unauthorized and is counted.
using inspector_actor = status_actor::extend<
    // Returns {"node": ..., "components": [status of each child of the root, in start order,
    // with its actor's meter under "actor"], "sessions": [each peer session's meter]}.
    caf::replies_to<tree_atom, std::string, status_verbosity>::with<status_report>,
    // The live view: {"node", "actors": [every metered actor's meter], "peers": [...],
    // "sync": {...}, "bans": [...]}.
    caf::replies_to<top_atom, std::string>::with<status_report>,
    // The operator's ban commands, forwarded to the security manager (see security_actor).
    caf::replies_to<get_atom, bans_atom, std::string>::with<caf::config_value::list>,
    caf::replies_to<put_atom, bans_atom, std::string, std::string, std::int64_t,
                    std::string>::with<bool>,
    caf::replies_to<delete_atom, bans_atom, std::string, std::string>::with<bool>,
    caf::replies_to<clear_atom, bans_atom, std::string>::with<std::uint64_t>,
    // Closes the session of a peer, "ip:port" or its id (as disconnectnode); false if none.
    caf::replies_to<close_atom, peers_atom, std::string, std::string>::with<bool>,
    // Asks the root supervisor to restart a child by name ("sync", ...); the child's restarts
    // so far (the restart itself follows).
    caf::replies_to<restart_atom, std::string, std::string>::with<std::uint64_t>,
    // The log sink's latest records matching an actor-name prefix and a level (see
    // log_sink_actor), and a subscription of a follower to the later ones.
    caf::replies_to<get_atom, log_atom, std::string, std::string,
                    log_level>::with<std::vector<log_record>>,
    caf::replies_to<subscribe_atom, log_atom, std::string, std::string, log_level,
                    log_subscriber_actor>::with<bool>,
    // (internal) A record from the log sink, for the followers: the inspector, not the log sink,
    // holds the remote followers' handles (a detached actor that took part in CAF remoting was
    // seen to outlive its termination, and the process waited for it at exit).
    caf::reacts_to<log_atom, log_record>,
    // (internal) Where it has been published, "host:port", for its own status.
    caf::reacts_to<published_atom, std::string>>;

/// The RPC server (actors/rpc_server): bitcoind's JSON-RPC over HTTP. Its HTTP threads check
/// credentials and parse requests (runtime/rpc) and hand each call to this actor, which asks the
/// components and shapes the result.
using rpc_actor = status_actor::extend<
    // Runs one call: the method and its parameters in the method's order (JSON text of an
    // array); the answer is JSON text, {"result": ...} or {"error": {"code": ..., "message": ...}}.
    caf::replies_to<rpc_atom, std::string, std::string>::with<std::string>,
    // (internal) Stops the node as SIGTERM does, once `stop` has been answered.
    caf::reacts_to<close_atom>>;

/// Who hears about peers: the peer manager and the sync coordinator.
using peer_observer_actor = caf::typed_actor<
    // A session completed its handshake.
    caf::reacts_to<ready_atom, peer_info>,
    // A session ended (also for connections that never became ready).
    caf::reacts_to<closed_atom, peer_closed>,
    // A message from a ready peer, by peer id.
    caf::reacts_to<peer_msg_atom, std::uint64_t, p2p_message>>;

/// The peer manager: starts a session for every connection, keeps the outbound slots filled
/// from the address manager, and records why each session ended. It never touches a socket:
/// the listener (below) and a dialer make the connections, so the simulator can replace both.
/// Who keeps a copy of the bans in force (the peer manager: it checks every connection against
/// it without asking).
using ban_subscriber_actor = caf::typed_actor<
    // The bans in force, replacing the copy (on subscribing, and after a ban was lifted).
    caf::reacts_to<bans_atom, std::vector<ban_view>>,
    // One more ban in force (its addresses' sessions are closed).
    caf::reacts_to<bans_atom, ban_view>>;

/// The security manager (actors/security_manager): every decision about who may talk to the node,
/// made by runtime/net/security_policy (reputation with decay, graduated bans, subnet bans) and
/// kept in the store across restarts.
using security_actor = status_actor::extend<
    // What a peer did wrong: weighed against its address's reputation. The answer is the
    // verdict now in force for the address (a ban: its sessions are being closed).
    caf::replies_to<offence_atom, peer_offence>::with<verdict>,
    // Rate allowance for a session of the address `ip` (16-byte form): up to `messages`
    // unsolicited messages and `bytes` bytes from the address's per-minute budget, shared by
    // all its connections. Less than asked: the session stops reading until `retry_ms`; an
    // address over budget most of a minute is also charged offence rate-exceeded here.
    caf::replies_to<grant_atom, std::array<std::uint8_t, 16>, std::uint32_t,
                    std::uint64_t>::with<rate_grant>,
    // An inbound connection from this address: may it stay? Counted by the connection-churn
    // detector whatever the answer. An accept counts it against the per-address and per-subnet
    // limits until the peer manager says it closed (below), also when the peer manager then
    // refuses it for want of a slot.
    caf::replies_to<accept_atom, std::array<std::uint8_t, 16>>::with<admission>,
    // An accepted inbound connection from this address closed (or was refused after all).
    caf::reacts_to<closed_atom, std::array<std::uint8_t, 16>>,
    // A peer at this address proved it holds this static key (its handshake completed): for
    // the shared-identity detector.
    caf::reacts_to<ready_atom, std::array<std::uint8_t, 16>, std::array<std::uint8_t, 32>>,
    // Keeps `who` told of the bans in force (the whole list now, then every change); `open`: the
    // accepted inbound connections it has open (one entry each), from which the admission counts
    // start again (a restarted security manager, or a restarted peer manager with none).
    caf::reacts_to<subscribe_atom, ban_subscriber_actor, std::vector<std::array<std::uint8_t, 16>>>,
    // Operator: the bans in force: subnet, reason, offences, manual, seconds-left (-1: forever).
    caf::replies_to<get_atom, bans_atom>::with<caf::config_value::list>,
    // Operator: bans an address or subnet ("192.0.2.7", "192.0.2.0/24", "2001:db8::/32") for
    // `seconds` (0: until lifted) with a reason; an error names what is wrong with the text.
    caf::replies_to<put_atom, bans_atom, std::string, std::int64_t, std::string>::with<bool>,
    // Operator: lifts the ban on exactly this address or subnet; false if there was none.
    caf::replies_to<delete_atom, bans_atom, std::string>::with<bool>,
    // Operator: lifts every ban; how many there were.
    caf::replies_to<clear_atom, bans_atom>::with<std::uint64_t>,
    // (internal) Saves a changed ban list, prunes what decayed and expired.
    caf::reacts_to<tick_atom>>;

/// Who is told where the node can be reached (the peer manager).
using advertisement_subscriber_actor = caf::typed_actor<
    // The NAT mapper's result: what to advertise (on subscribing, and on every change).
    caf::reacts_to<advertise_atom, self_advertisement>>;

using peer_manager_actor = peer_observer_actor::extend_with<ban_subscriber_actor>::
    extend_with<advertisement_subscriber_actor>::extend<
        // Returns the pool: slots, peers, scores.
        caf::replies_to<status_atom, status_verbosity>::with<status_report>,
        // An inbound connection from ip, port on a link: the manager starts a session and attaches
        // it to the link, or closes the link (refused).
        caf::reacts_to<accept_atom, std::string, std::uint16_t, accepted_link_actor>,
        // Connects to a peer now (`[tls:][<pubkey>@]ip:port`), as a manual connection.
        caf::reacts_to<connect_atom, std::string>,
        // Operator (addnode add/onetry): connects to `[tls:][<pubkey>@]ip:port`; `keep`: and
        // reconnects whenever it drops (false: dialled once). False if it is already an added
        // peer; an error (invalid_config) names what is wrong with the text.
        caf::replies_to<connect_atom, std::string, bool>::with<bool>,
        // Operator (addnode remove): stops keeping this peer connected (its session stays);
        // false if it was not added.
        caf::replies_to<delete_atom, peers_atom, std::string>::with<bool>,
        // Operator (disconnectnode): closes the session of the peer at "ip:port" (when not
        // empty) or else the one with this id; false if there is none.
        caf::replies_to<close_atom, std::string, std::uint64_t>::with<bool>,
        // Candidate addresses from discovery.
        caf::reacts_to<found_atom, std::vector<discovered_peer>>,
        // A session's latency and traffic figures for its peer (score, eviction).
        caf::reacts_to<activity_atom, peer_activity>,
        // New headers and blocks a peer delivered, and its best height (from the sync coordinator).
        caf::reacts_to<useful_atom, peer_usefulness>,
        // Our best block height changed (from the sync coordinator): announced in new versions.
        caf::reacts_to<best_atom, std::int32_t>,
        // (internal) Fills the outbound slots and checks the pool, periodically.
        caf::reacts_to<tick_atom>,
        // (internal) Links to the listener broker: they live and die together.
        caf::reacts_to<link_atom, caf::actor>>;

/// The TCP link broker: a peer link that owns one connection's socket and reports its events.
using tcp_link_actor = accepted_link_actor::extend<
    // Bytes arrived on the socket.
    caf::reacts_to<caf::io::new_data_msg>,
    // The socket accepted bytes for sending (cumulative counts go to the session).
    caf::reacts_to<caf::io::data_transferred_msg>,
    // The connection closed or could not be made.
    caf::reacts_to<caf::io::connection_closed_msg>,
    // (internal) Resumes reading again if it should be reading (see set_reading).
    caf::reacts_to<tick_atom>>;

/// One end of an in-memory wire (actors/simulation/memory_network): the simulator's peer link.
using memory_link_actor = accepted_link_actor::extend<
    // The other end of the wire.
    caf::reacts_to<link_atom, peer_link_actor>,
    // Bytes the other end wrote.
    caf::reacts_to<data_atom, bytes>,
    // The other end closed.
    caf::reacts_to<linkdown_atom>,
    // From now on this end delivers nothing either way (its node went silent).
    caf::reacts_to<close_atom, std::string>>;

/// The simulator's network: in-memory wires between the peer managers of many nodes in one
/// actor system, each wire with its own one-way latency and bandwidth (actors/simulation's
/// wire_model), and links that can be cut. In a parallel simulation each lane (actor system)
/// has one, and wires to another lane's nodes cross through the lanes' ports (lane_port).
using memory_network_actor = caf::typed_actor<
    // A node listens at "ip:port" with this peer manager.
    caf::reacts_to<put_atom, std::string, peer_manager_actor>,
    // Connects a session of the node at ip (first) to "ip:port" (second).
    caf::reacts_to<connect_atom, std::string, std::string, peer_session_actor>,
    // From now on, wires to or from this ip deliver nothing (a peer that went silent).
    caf::reacts_to<close_atom, std::string>,
    // Cuts the network in two: the listed ips on one side, everyone else on the other. Wires
    // across are cut at once (both sessions see their link go down) and connections across are
    // refused until a partition with an empty list heals it.
    caf::reacts_to<partition_atom, std::vector<std::string>>,
    // Wires made and refused so far, and wire ends alive now.
    caf::replies_to<status_atom>::with<std::uint64_t, std::uint64_t, std::uint64_t>,
    // (parallel simulation: between lanes) A node of lane `from_lane` (second) at ip (third)
    // dials "ip:port" (fourth) in this lane; this lane's end will be end number `end` (first)
    // and the wire has the given one-way latency.
    caf::reacts_to<connect_atom, std::uint64_t, std::uint64_t, std::string, std::string,
                   caf::timespan>,
    // (between lanes) Bytes for this lane's end number `end`, which did not exist yet when they
    // were handed over (its connect travelled with them).
    caf::reacts_to<data_atom, std::uint64_t, bytes>,
    // (between lanes) The other end of this lane's end number `end` closed.
    caf::reacts_to<linkdown_atom, std::uint64_t>>;

/// The P2P listener: a broker owning the listening socket. Each accepted connection is forked to
/// a TCP link broker at once; the link offers itself to the peer manager, which attaches a
/// session to it or closes it.
using p2p_listener_actor = caf::typed_actor<
    // A peer connected.
    caf::reacts_to<caf::io::new_connection_msg>,
    // Bytes on a connection not yet forked (none are read before the fork).
    caf::reacts_to<caf::io::new_data_msg>,
    // A connection closed before it was forked.
    caf::reacts_to<caf::io::connection_closed_msg>,
    // The listening socket closed.
    caf::reacts_to<caf::io::acceptor_closed_msg>>;

/// Who hears from the sync coordinator what each peer delivered and where our chain is (the peer
/// manager).
using sync_subscriber_actor = caf::typed_actor<
    // New headers and blocks a peer delivered, and its best height.
    caf::reacts_to<useful_atom, peer_usefulness>,
    // Our best block height changed.
    caf::reacts_to<best_atom, std::int32_t>>;

/// The simulator's ear on one node's sync coordinator (actors/simulation/height_recorder): a
/// subscriber that follows the coordinator across restarts.
using height_recorder_actor = sync_subscriber_actor::extend<
    // (internal) Looks for the node's sync coordinator (at start, and after it stopped).
    caf::reacts_to<tick_atom>>;

/// The sync coordinator (actors/sync_coordinator): headers-first sync and parallel block
/// download from the ready peers, serving headers and blocks to them, and relay after sync.
using sync_actor = peer_observer_actor::extend<
    // Returns sync progress: headers, blocks, estimated %, per-peer download state.
    caf::replies_to<status_atom, status_verbosity>::with<status_report>,
    // (internal) Timeouts, stall detection and the progress line, once a second.
    caf::reacts_to<tick_atom>,
    // Sends our best block height to this subscriber now and whenever it changes, and what each
    // peer delivered once a second.
    caf::reacts_to<subscribe_atom, sync_subscriber_actor>,
    // Asks a peer (by id) for headers from our best's parent, to learn whether it has our chain
    // (the peer manager's check of a peer that looks behind; the answer updates its score).
    caf::reacts_to<refresh_atom, std::uint64_t>,
    // Takes a serialized block that extends our tip (Core's submitblock): checks its header and
    // body, commits it and announces it; returns its hash once it is handed to storage.
    caf::replies_to<put_atom, block_atom, bytes>::with<hash256>,
    // The header with this hash in bitcoind's getblockheader fields (hash, height,
    // confirmations, version, merkleroot, time, mediantime, nonce, bits, chainwork, hex,
    // previousblockhash, nextblockhash) plus `blocks` and `headers`, our best stored and best
    // header heights; not_found if unknown, refused while the stored chain is loading.
    caf::replies_to<get_atom, headers_atom, hash256>::with<status_report>,
    // The same for the best stored chain's block at this height (not_found past the best block).
    caf::replies_to<get_atom, headers_atom, std::int32_t>::with<status_report>>;

/// Where discovered peer addresses go (the peer manager's address manager).
using address_sink_actor = caf::typed_actor<
    // Candidate peers from one source (a DNS answer, the bootstrap list, relay).
    caf::reacts_to<found_atom, std::vector<discovered_peer>>>;

/// The DNS seeder: queries the chain spec's seeds and hands what it finds to an address sink.
using discovery_actor = status_actor::extend<
    // Queries every seed again now (ignored while a round is running).
    caf::reacts_to<refresh_atom>,
    // (internal) Drives the resolver: processes its sockets and timeouts without blocking.
    caf::reacts_to<tick_atom>>;

/// The UPnP worker (actors/upnp_worker): miniupnpc's discovery and SOAP calls block, so they run
/// in this detached actor's own thread, each bounded by a timeout, never on a scheduler thread.
using upnp_worker_actor = caf::typed_actor<
    // Maps (or renews) a TCP port on the Internet gateway device, discovering it first if none
    // is known; the answer carries the gateway's external address or the failed step.
    caf::replies_to<map_atom, upnp_mapping_request>::with<upnp_mapping_result>,
    // Removes the mapping of this external port; false if the gateway refused or was gone.
    caf::replies_to<delete_atom, std::uint16_t>::with<bool>>;

/// The NAT mapper (actors/nat_mapper): learns the node's external address and NAT behaviour
/// (STUN, RFC 8489 and 5780), maps the P2P port on the gateway (PCP, then NAT-PMP, then UPnP),
/// renews the mapping and removes it on shutdown, counts what peers see of us, and tells the peer
/// manager what to advertise (runtime/nat holds the logic).
using nat_actor = status_actor::extend<
    // Keeps `who` told of the advertisement (now, and on every change); replaces any previous
    // subscriber.
    caf::reacts_to<subscribe_atom, advertisement_subscriber_actor>,
    // A peer's view of our address (the addr_recv of its version: ip, port) and the peer's own
    // address (each peer address counts once).
    caf::reacts_to<observed_atom, std::array<std::uint8_t, 16>, std::uint16_t,
                   std::array<std::uint8_t, 16>>,
    // (internal) Polls the UDP socket while requests are under way; renewals and re-probes.
    caf::reacts_to<tick_atom>>;

} // namespace qtc
