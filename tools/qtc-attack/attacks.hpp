// What each attack does on a connection, as hooks the loop calls at the connection's milestones
// (TCP up, transport handshake done, session ready, a frame received, a tick).
#pragma once

#include "connection.hpp"
#include "runtime/chain/chain_spec.hpp"

#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace qtc::attack {

/// The chain's block hashes as the attacks know them (genesis first, always there), shared by
/// every connection: connections that learn them by getheaders extend one list.
struct chain_view {
  std::vector<hash256> hashes;
  bool complete = false;
  std::shared_ptr<const bytes> getdata_frame; ///< built once the hashes are known
};

/// What the hooks see of the run.
struct run_context {
  const options& o;
  const chain_spec& spec;
  std::mt19937_64& rng;
  chain_view& chain;
  time_point now;
  std::function<void(const connection&, const std::string&)> log; ///< one event line
};

class attack_behaviour {
public:
  virtual ~attack_behaviour() = default;

  /// Whether connections run the session core (Noise/TLS, version handshake); junk and
  /// handshake-less churn speak raw TCP.
  virtual bool uses_session(const options&) const {
    return true;
  }
  /// How many of the core's messages the node gets (SIZE_MAX: all; 1: only our version).
  virtual std::size_t core_sends_allowed() const {
    return SIZE_MAX;
  }
  /// A 4 KiB receive buffer, set before connect (the non-reader).
  virtual bool small_receive_buffer() const {
    return false;
  }
  /// Whether a slot opens a new connection after its last one ended (connection-churn).
  virtual bool reconnects() const {
    return false;
  }

  virtual void on_tcp(connection&, run_context&) {}
  virtual void on_transport(connection&, run_context&) {}
  virtual void on_ready(connection&, run_context&) {}
  virtual void on_frame(connection&, const frame&, run_context&) {}
  /// Every loop turn, also when nothing arrived: paced sends, timeouts.
  virtual void on_tick(connection&, run_context&) {}
};

std::unique_ptr<attack_behaviour> make_behaviour(attack_kind kind);

/// The getdata message for `chain` (--items block entries, its hashes repeated as needed).
std::shared_ptr<const bytes> make_getdata_frame(const chain_view& chain, const options& o,
                                                const chain_spec& spec);

} // namespace qtc::attack
