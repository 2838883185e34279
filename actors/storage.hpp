// The storage actor: owns the node's data directory. Other actors reach stored state only
// through it. (The chain and address stores in LMDB arrive with the wire/chain issue.)
#pragma once

#include "messages/interfaces.hpp"
#include "runtime/logger.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <filesystem>

namespace qtc {

struct storage_state {
  logger log;
  std::filesystem::path data_dir;
  static inline const char* name = "storage";
};

storage_actor::behavior_type storage(storage_actor::stateful_pointer<storage_state> self,
                                     std::filesystem::path data_dir);

} // namespace qtc
