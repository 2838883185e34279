// The RPC server: bitcoind's JSON-RPC over HTTP (docs/operations.md lists the methods).
//
// cpp-httplib runs the HTTP side on threads of its own, never on a CAF scheduler thread: each
// request is authenticated (cookie or rpcauth, runtime/rpc/rpc_auth) and parsed
// (runtime/rpc/json_rpc) on its HTTP thread, which then hands each call to this actor and waits
// for the answer with a deadline. The actor asks the components (sync, storage, security,
// peers) by message with timeouts of its own and never blocks, so a slow call costs one HTTP
// thread, not the node; at most `work_queue_depth` requests are under way, more answer HTTP 503
// "Work queue depth exceeded" as bitcoind's -rpcworkqueue does.
//
// The actor is detached (its own thread): stopping the HTTP server joins its threads. It writes
// the cookie file at start and removes it when it stops.
#pragma once

#include "actors/support/logger.hpp"
#include "actors/support/metered.hpp"
#include "actors/support/sibling.hpp"
#include "messages/interfaces.hpp"
#include "runtime/rpc/json_rpc.hpp"
#include "runtime/rpc/rpc_auth.hpp"
#include "runtime/rpc/rpc_results.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace qtc {

/// Requests handled at once; more are answered 503 (bitcoind's -rpcworkqueue default).
constexpr int rpc_work_queue_depth = 16;

struct rpc_server_config {
  std::string host = "127.0.0.1";
  int port = 0;                   ///< -1 (or 0 here): any free port
  std::filesystem::path data_dir; ///< where `.cookie` is written
  std::vector<rpc::rpcauth_entry> rpcauth;
  std::string chain;     ///< the chain spec's network name
  rpc::node_facts facts; ///< getnetworkinfo's version, user agent, protocol version
  rpc::request_limits limits;
  /// When the node started (uptime).
  std::chrono::system_clock::time_point started = std::chrono::system_clock::now();
  /// Stops the node as SIGTERM does (the `stop` method).
  std::function<void()> request_shutdown;
};

class rpc_http; // the HTTP server and its threads (rpc_server.cpp)

struct rpc_server_state {
  logger log;
  supervisor_actor parent;
  rpc_server_config config;
  sibling<sync_actor> sync;
  sibling<storage_actor> storage;
  sibling<security_actor> security;
  sibling<peer_manager_actor> peers;
  std::shared_ptr<rpc_http> http;
  std::string address; ///< host:port it listens on
  std::uint64_t calls = 0;
  std::uint64_t failed_calls = 0;
  static inline const char* name = "rpc";
};

using rpc_pointer = metered_pointer<rpc_actor, rpc_server_state>;

rpc_actor::behavior_type rpc_server(rpc_pointer self, rpc_server_config config,
                                    supervisor_actor parent);

/// Runs one call in the actor (rpc_calls.cpp): answers `promise` with the result envelope.
void run_call(rpc_pointer self, const std::string& method, nlohmann::json params,
              caf::typed_response_promise<std::string> promise);

/// {"result": ...} / {"error": {...}}: what run_call answers.
std::string result_envelope(const nlohmann::json& result);
std::string error_envelope(const rpc::rpc_error& error);

} // namespace qtc
