// The timeline of a run: every event a scenario asks for, at its virtual time, with the random
// choices (join times, which nodes churn and when) drawn from the scenario's seed. Pure: the
// same scenario gives the same timeline.
#pragma once

#include "scenario.hpp"

#include <vector>

namespace qtc::sim {

enum class event_kind {
  start,     ///< a node starts (for the first time, or again with its store after a crash)
  crash,     ///< a node stops at once; it restarts later if the plan says so
  leave,     ///< a node stops for good
  mine,      ///< a node mines a block on its tip
  partition, ///< the network is cut in two
  heal,      ///< the partition ends
  silence,   ///< the attackers stop delivering anything
  attack,    ///< one step of an attack (`node`: its index in the scenario's attacks)
};

const char* to_string(event_kind k);

struct event {
  milliseconds at{0};
  event_kind kind = event_kind::start;
  std::size_t node = 0; ///< for start, crash, leave, mine; the attack's index for attack
};

enum class node_role { serving, fresh, attacker };

const char* to_string(node_role r);

/// Who the nodes are, by index: serving, fresh, joining (fresh nodes that start during churn),
/// then attackers.
struct cast {
  std::vector<node_role> roles;
  std::vector<std::string> ips;
};

cast make_cast(const scenario& s);

/// Sorted by time; events at the same time keep the order they were planned in.
std::vector<event> make_plan(const scenario& s);

} // namespace qtc::sim
