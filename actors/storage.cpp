#include "actors/storage.hpp"

#include "actors/support/status_fields.hpp"
#include "messages/errors.hpp"
#include "runtime/chain/genesis.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>

namespace qtc {

storage_actor::behavior_type storage(metered_pointer<storage_actor, storage_state> self,
                                     std::filesystem::path data_dir,
                                     std::shared_ptr<chain_store> chain) {
  self->state.log = logger{self->system(), "storage"};
  self->state.data_dir = std::move(data_dir);
  self->state.chain = std::move(chain);
  self->state.log.info("chain store open",
                       {{"path", self->state.chain->path().string()},
                        {"headers", std::to_string(self->state.chain->header_count())},
                        {"blocks", std::to_string(self->state.chain->block_count())}});
  self->attach_functor([log = self->state.log](const caf::error&) {
    // Every write was committed durably when it was made: closing flushes nothing.
    log.info("chain store closed");
  });
  return {
      [self](status_atom, status_verbosity) -> status_report {
        auto& st = self->state;
        caf::settings result;
        report(result, "name", "storage");
        report(result, "state", "open");
        report(result, "data-dir", st.data_dir.string());
        report(result, "headers", st.chain->header_count());
        report(result, "blocks", st.chain->block_count());
        if (auto best = st.chain->best_block())
          report(result, "best-block", to_display_hex(*best));
        std::error_code ec;
        auto space = std::filesystem::space(st.data_dir, ec);
        if (!ec)
          report(result, "available-bytes", space.available);
        return result;
      },
      [self](put_atom, headers_atom,
             const std::vector<stored_header>& headers) -> caf::result<bool> {
        if (auto err = self->state.chain->put_headers(headers))
          return make_error(errc::storage_failed, *err);
        return true;
      },
      [self](put_atom, block_atom, const hash256& hash, const bytes& raw,
             bool make_best) -> caf::result<bool> {
        if (auto err = self->state.chain->put_block(hash, raw, make_best))
          return make_error(errc::storage_failed, *err);
        return true;
      },
      [self](put_atom, block_atom, const std::vector<stored_block>& blocks,
             bool make_best) -> caf::result<bool> {
        if (auto err = self->state.chain->put_blocks(blocks, make_best))
          return make_error(errc::storage_failed, *err);
        return true;
      },
      [self](get_atom, headers_atom) { return self->state.chain->all_headers(); },
      [self](get_atom, block_atom, const hash256& hash) -> caf::result<bytes> {
        if (auto raw = self->state.chain->block(hash))
          return std::move(*raw);
        return make_error(errc::not_found, "no stored block " + to_display_hex(hash));
      },
      [self](get_atom, block_atom, const std::vector<hash256>& hashes) {
        return self->state.chain->blocks(hashes);
      },
      [self](put_atom, peers_atom, const bytes& raw) -> caf::result<bool> {
        if (auto err = self->state.chain->put_peer_table(raw))
          return make_error(errc::storage_failed, *err);
        return true;
      },
      [self](get_atom, peers_atom) { return self->state.chain->peer_table(); },
      [self](put_atom, bans_atom, const bytes& raw) -> caf::result<bool> {
        if (auto err = self->state.chain->put_ban_table(raw))
          return make_error(errc::storage_failed, *err);
        return true;
      },
      [self](get_atom, bans_atom) { return self->state.chain->ban_table(); },
      [self](get_atom, best_atom) -> caf::result<hash256> {
        if (auto best = self->state.chain->best_block())
          return *best;
        return make_error(errc::not_found, "no best block");
      },
  };
}

caf::expected<caf::actor> start_storage(caf::actor_system& sys,
                                        const std::filesystem::path& data_dir,
                                        const chain_spec& spec, commit_mode mode) {
  auto genesis = make_genesis_block(spec);
  auto genesis_hash = block_hash(genesis.header);
  std::string error;
  std::shared_ptr<chain_store> chain =
      chain_store::open(data_dir / "chain", chain_identity{spec.network, genesis_hash}, error,
                        chain_store::default_map_size, mode);
  if (!chain)
    return make_error(errc::data_dir_unusable, error);
  if (!chain->best_block()) {
    if (auto err = chain->put_headers(std::vector{stored_header{genesis.header, 0}}))
      return make_error(errc::data_dir_unusable, *err);
    if (auto err = chain->put_block(genesis_hash, serialize(genesis), true))
      return make_error(errc::data_dir_unusable, *err);
  }
  return caf::actor_cast<caf::actor>(sys.spawn(storage, data_dir, std::move(chain)));
}

} // namespace qtc
