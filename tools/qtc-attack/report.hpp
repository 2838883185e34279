// What a run did, as one JSON object: the attack, its parameters, per-source totals and an
// aggregate, built from every connection the run made.
#pragma once

#include "connection.hpp"

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

namespace qtc::attack {

/// Totals over some connections (one source's, or all).
struct totals {
  std::uint64_t attempted = 0;
  std::uint64_t refused = 0;
  std::uint64_t handshakes = 0; ///< reached the attack's handshake goal
  std::uint64_t transport_handshakes = 0;
  std::uint64_t version_handshakes = 0;
  std::uint64_t closed_by_node = 0;
  std::uint64_t closed_by_node_at_drain = 0; ///< of those: found when draining at the end
  std::uint64_t closed_by_us = 0;
  std::uint64_t open_at_end = 0;
  std::vector<double> close_seconds; ///< connect to the node's close, where seen when it came
  traffic t;
  std::map<std::string, std::uint64_t> ends; ///< how connections ended, by detail

  void add(const connection& c);
  nlohmann::ordered_json to_json() const;
};

struct run_summary {
  const options& o;
  double elapsed_seconds = 0;
  std::string shared_key_hex; ///< shared-identity: the static key every connection used
};

nlohmann::ordered_json make_report(const run_summary& run,
                                   const std::vector<std::unique_ptr<connection>>& connections);

} // namespace qtc::attack
