// Atom constants: the verbs of the node's typed actor interfaces (CAF 0.17 atoms, <= 10 chars).
#pragma once

#include <caf/atom.hpp>

namespace qtc {

/// Asks any component for its status report (the shared status protocol).
using status_atom = caf::atom_constant<caf::atom("status")>;
/// Asks a supervisor for its children.
using children_atom = caf::atom_constant<caf::atom("children")>;
/// Asks a supervisor for the running child registered under a name.
using whereis_atom = caf::atom_constant<caf::atom("whereis")>;
/// Asks a supervisor to start a dynamic child (e.g. one peer session).
using start_atom = caf::atom_constant<caf::atom("start")>;
/// A supervisor's delayed restart of a child after its backoff (internal), and an operator's
/// request to restart a child (the inspector's `restart`).
using restart_atom = caf::atom_constant<caf::atom("restart")>;
/// Internal: a child did not stop within its shutdown timeout.
using deadline_atom = caf::atom_constant<caf::atom("deadline")>;
/// Asks the inspector for the status of every component of the node.
using tree_atom = caf::atom_constant<caf::atom("tree")>;
/// Asks the inspector for the live view of `qtc-inspect top`.
using top_atom = caf::atom_constant<caf::atom("top")>;
/// Tells the inspector where it was published.
using published_atom = caf::atom_constant<caf::atom("published")>;
/// Storage requests: get/put of headers, blocks and the best block.
using get_atom = caf::atom_constant<caf::atom("get")>;
using put_atom = caf::atom_constant<caf::atom("put")>;
using headers_atom = caf::atom_constant<caf::atom("headers")>;
using block_atom = caf::atom_constant<caf::atom("block")>;
using best_atom = caf::atom_constant<caf::atom("best")>;
/// A log record for the log sink.
using log_atom = caf::atom_constant<caf::atom("log")>;
/// Metric updates for the metrics actor.
using count_atom = caf::atom_constant<caf::atom("count")>;
using gauge_atom = caf::atom_constant<caf::atom("gauge")>;
/// Discovery: candidate peer addresses found (DNS seeds, bootstrap nodes, relay).
using found_atom = caf::atom_constant<caf::atom("found")>;
/// Asks discovery to query its sources again now (the address manager is short of addresses).
using refresh_atom = caf::atom_constant<caf::atom("refresh")>;
/// Peer links and sessions: bytes to write, bytes that arrived, bytes written, the link's end.
using write_atom = caf::atom_constant<caf::atom("write")>;
using data_atom = caf::atom_constant<caf::atom("data")>;
using written_atom = caf::atom_constant<caf::atom("written")>;
using link_atom = caf::atom_constant<caf::atom("link")>;
using linkdown_atom = caf::atom_constant<caf::atom("linkdown")>;
/// The simulator's network: cut it into sides (an empty list heals it).
using partition_atom = caf::atom_constant<caf::atom("partition")>;
/// Ends a link or a session.
using close_atom = caf::atom_constant<caf::atom("close")>;
/// Sends a P2P message to a peer.
using send_atom = caf::atom_constant<caf::atom("send")>;
/// Sends an answer to a peer's request, acknowledged once the peer is reading (serving pace).
using serve_atom = caf::atom_constant<caf::atom("serve")>;
/// Peer events: a session is ready, a session closed, a message from a peer.
using ready_atom = caf::atom_constant<caf::atom("ready")>;
using closed_atom = caf::atom_constant<caf::atom("closed")>;
using peer_msg_atom = caf::atom_constant<caf::atom("peermsg")>;
/// Asks the peer manager to connect to an address now (operator, tests).
using connect_atom = caf::atom_constant<caf::atom("connect")>;
/// Offers the peer manager an inbound connection's link (it attaches a session or closes it).
using accept_atom = caf::atom_constant<caf::atom("accept")>;
/// Tells an inbound link which session owns it.
using attach_atom = caf::atom_constant<caf::atom("attach")>;
/// The peer manager subscribes to the sync coordinator's height and usefulness reports.
using subscribe_atom = caf::atom_constant<caf::atom("subscribe")>;
/// Storage: the address manager's tables.
using peers_atom = caf::atom_constant<caf::atom("peers")>;
/// The security manager: bans (the stored ban table, the operator's ban commands), offences
/// reported against peers, and lifting bans.
using bans_atom = caf::atom_constant<caf::atom("bans")>;
using offence_atom = caf::atom_constant<caf::atom("offence")>;
using delete_atom = caf::atom_constant<caf::atom("delete")>;
using clear_atom = caf::atom_constant<caf::atom("clear")>;
/// Rate limits: a session asks the security manager for allowance (its unsolicited traffic);
/// a link is told to stop or resume reading its socket (backpressure while over budget).
using grant_atom = caf::atom_constant<caf::atom("grant")>;
using read_atom = caf::atom_constant<caf::atom("read")>;
/// A session's measurements of its peer (latency, traffic), for the peer manager's score.
using activity_atom = caf::atom_constant<caf::atom("activity")>;
/// What a peer delivered to the sync coordinator (new headers and blocks), for the score.
using useful_atom = caf::atom_constant<caf::atom("useful")>;
/// The NAT mapper: a peer's view of our address (its version's addr_recv), the advertisement it
/// gives the peer manager, and the UPnP worker's port mapping requests.
using observed_atom = caf::atom_constant<caf::atom("observed")>;
using advertise_atom = caf::atom_constant<caf::atom("advertise")>;
using map_atom = caf::atom_constant<caf::atom("map")>;
/// Internal timers: a periodic tick and a deferred poll of an external library.
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using metric_atom = caf::atom_constant<caf::atom("metric")>;
using observe_atom = caf::atom_constant<caf::atom("observe")>;
/// One JSON-RPC call handed from the RPC server's HTTP threads to its actor.
using rpc_atom = caf::atom_constant<caf::atom("rpc")>;

} // namespace qtc
