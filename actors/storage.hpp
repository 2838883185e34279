// The storage actor: owns the node's data directory and the LMDB chain store in it. Other actors
// reach stored state only through it.
#pragma once

#include "actors/support/logger.hpp"
#include "actors/support/metered.hpp"
#include "messages/interfaces.hpp"
#include "runtime/chain/chain_spec.hpp"
#include "runtime/store/chain_store.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <filesystem>
#include <memory>

namespace qtc {

struct storage_state {
  logger log;
  std::filesystem::path data_dir;
  std::shared_ptr<chain_store> chain; ///< held by this actor alone once it runs
  static inline const char* name = "storage";
};

storage_actor::behavior_type storage(metered_pointer<storage_actor, storage_state> self,
                                     std::filesystem::path data_dir,
                                     std::shared_ptr<chain_store> chain);

/// Opens the chain store under `<data_dir>/chain` (synchronously, so that a foreign or corrupt
/// store fails the node's start with its reason), stores the genesis block on first use, and
/// spawns the storage actor owning it. `mode`: commit_mode::unflushed for the simulator only.
caf::expected<caf::actor> start_storage(caf::actor_system& sys,
                                        const std::filesystem::path& data_dir,
                                        const chain_spec& spec,
                                        commit_mode mode = commit_mode::flushed);

} // namespace qtc
