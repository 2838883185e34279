// The run: one single-threaded poll() loop over every attacking connection, from the first
// connect to the end of --duration (or until the node has closed them all), then a short drain
// that tells whether the node closed the non-readers.
#pragma once

#include "attacks.hpp"
#include "connection.hpp"
#include "runtime/transport/node_identity.hpp"

#include <botan/rng.h>

#include <memory>
#include <vector>

namespace qtc::attack {

class runner {
public:
  /// `shared_identity`: the one identity every connection uses (shared-identity); otherwise
  /// each connection gets a fresh one, as a crowd of distinct peers would have.
  runner(const options& o, const chain_spec& spec, chain_view chain,
         std::shared_ptr<const node_identity> shared_identity, Botan::RandomNumberGenerator& rng);

  /// Runs the attack to its end.
  void run();

  const std::vector<std::unique_ptr<connection>>& connections() const {
    return all_;
  }
  double elapsed_seconds() const;
  /// Whether any connection reached the target at the TCP level.
  bool reached_target() const;

private:
  /// One of the --sources × --connections places a connection lives in.
  struct slot {
    unsigned source = 0;
    connection* live = nullptr;
    time_point next_attempt;
    bool retired = false; ///< its connection ended and it does not reconnect
  };

  void start_due_slots(time_point now);
  void open_connection(slot& s, time_point now);
  void step(connection& c, short revents, time_point now);
  bool step_connect(connection& c, short revents, time_point now);
  void on_tcp_up(connection& c, time_point now);
  void session_events(connection& c, time_point now);
  void node_closed(connection& c, const std::string& why, time_point now);
  void finish(connection& c, conn_end end, const std::string& detail, time_point now);
  void retire_ended(time_point now);
  int poll_timeout_ms(time_point now) const;
  void drain_and_close();
  void progress(time_point now);
  void log(const connection& c, const std::string& what) const;
  run_context context(time_point now);

  const options& o_;
  const chain_spec& spec_;
  chain_view chain_;
  std::shared_ptr<const node_identity> shared_identity_;
  Botan::RandomNumberGenerator& rng_;
  std::mt19937_64 fast_rng_;
  std::unique_ptr<attack_behaviour> behaviour_;
  session_settings settings_;
  handshake_goal goal_;
  std::vector<slot> slots_;
  std::vector<std::unique_ptr<connection>> all_; ///< every connection made, in order
  time_point started_;
  time_point deadline_;
  time_point ended_;
  time_point next_progress_;
};

} // namespace qtc::attack
