// A simulation scenario: what network qtc-sim builds and what happens to it, read from a TOML
// file (config/sim/*.toml; docs/operations.md "Simulating a network: qtc-sim" lists every key).
// Every problem is reported as file:line: key: what, all of them in one pass.
#pragma once

#include "runtime/chain/chain_spec.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace qtc::sim {

using std::chrono::milliseconds;

/// Blocks mined during the run: `count` blocks by node `node`, the first at `at`, then one every
/// `every`.
struct mining_plan {
  std::size_t node = 0;
  milliseconds at{0};
  milliseconds every{0};
  std::uint32_t count = 0;
};

/// The network cut in two at `at` (the last `share` of the nodes, by index, on one side) and
/// healed at `heal`.
struct partition_plan {
  milliseconds at{0};
  milliseconds heal{0};
  double share = 0.5;
};

/// Churn among the fresh nodes between `from` and `to`: `fraction` of them go down, each at a
/// random time; of those, `leave_share` leave for good, the rest crash and restart with their
/// stores after `down_for`; `joins` new fresh nodes start at random times.
struct churn_plan {
  double fraction = 0;
  double leave_share = 0;
  std::uint32_t joins = 0;
  milliseconds from{0};
  milliseconds to{0};
  milliseconds down_for{0};
};

/// What the attackers do to honest nodes, besides holding addresses (docs/security.md has how
/// the node answers each).
enum class attack_kind {
  addr_flood,       ///< an addr of 1,000 made-up addresses in the attackers' groups
  invalid_headers,  ///< a header on genesis whose hash misses its proof-of-work target
  connection_flood, ///< one more connection (a new identity each time), kept open and idle
};

const char* to_string(attack_kind k);

/// An attack: from `at`, every `every`, `count` times, each attacker does `kind` to each of its
/// `targets` honest nodes (drawn from the seed). addr-flood and invalid-headers go over one
/// session per attacker and target, opened again when the target closed it.
struct attack_plan {
  attack_kind kind = attack_kind::addr_flood;
  milliseconds at{0};
  milliseconds every{1000};
  std::uint32_t count = 1;
  std::uint32_t targets = 1;
};

/// Whom a node's DNS seeds name (besides attackers): the serving nodes; every honest node; or
/// the honest nodes running when the node first starts, as a seed fed by a crawler would.
enum class seeds_knowledge { serving, all, running };

struct scenario {
  std::filesystem::path source;
  std::string name;
  std::uint64_t seed = 1;
  /// Threads the run uses (one lane each). Part of what the run is: the same seed with another
  /// number of lanes gives a different run, as reproducible. More than one needs a smallest link
  /// latency above zero (the lanes' rounds are that long).
  std::uint32_t lanes = 1;
  milliseconds duration{0};
  milliseconds sample_every{0}; ///< peer-graph samples
  std::filesystem::path chain_spec_file;
  chain_spec spec;

  // [nodes]
  std::uint32_t serving = 0; ///< start holding the pre-mined chain
  std::uint32_t fresh = 0;   ///< start empty
  std::uint32_t chain_blocks = 0;
  std::uint32_t txs_per_block = 0;
  std::uint32_t full_relay_slots = 8;
  std::uint32_t block_relay_slots = 2;
  std::uint32_t max_connections = 125;
  milliseconds join_within{0}; ///< fresh nodes start at random times in [0, join_within)

  // [bootstrap]
  std::uint32_t dns_answer_size = 8; ///< addresses in each seed's answer to a node (0: none)
  seeds_knowledge seeds_name = seeds_knowledge::serving; ///< whom the DNS seeds name
  /// When given, the chain spec's bootstrap list (the fallback when DNS yields nothing) names
  /// this many serving nodes, the first ones; otherwise it is the spec file's own list.
  std::optional<std::uint32_t> bootstrap_nodes;

  // [links]
  milliseconds latency_min{0};
  milliseconds latency_max{0};
  /// Each direction of each wire carries a bandwidth drawn uniformly from this range, bytes per
  /// second (0: unlimited).
  std::uint64_t bandwidth_min = 0;
  std::uint64_t bandwidth_max = 0;

  // [attackers]
  std::uint32_t attackers = 0;       ///< nodes holding the chain, in few network groups
  std::uint32_t attacker_groups = 1; ///< the /16 groups their addresses fall in
  double attacker_address_share = 0; ///< of every seed answer, the attackers' part
  std::optional<milliseconds> attackers_silent_at; ///< when they stop delivering anything

  std::vector<attack_plan> attacks;
  std::vector<mining_plan> mining;
  std::optional<partition_plan> partition;
  std::optional<churn_plan> churn;

  std::uint32_t honest() const {
    return serving + fresh;
  }
};

struct scenario_result {
  std::optional<scenario> value;
  std::vector<config_error> errors;
};

constexpr std::uint32_t max_lanes = 16;

/// Why `s` cannot run in s.lanes lanes ("" when it can).
std::string lanes_problem(const scenario& s);

/// Reads and checks a scenario file; its chain_spec path is relative to the file.
scenario_result load_scenario(const std::filesystem::path& file);

} // namespace qtc::sim
