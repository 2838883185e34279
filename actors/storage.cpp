#include "actors/storage.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

namespace qtc {

storage_actor::behavior_type storage(storage_actor::stateful_pointer<storage_state> self,
                                     std::filesystem::path data_dir) {
  self->state.log = logger{self->system(), "storage"};
  self->state.data_dir = std::move(data_dir);
  self->state.log.info("data directory open", {{"path", self->state.data_dir.string()}});
  self->attach_functor(
      [log = self->state.log](const caf::error&) { log.info("data directory closed"); });
  return {
      [self](status_atom, status_verbosity) -> status_report {
        caf::settings result;
        caf::put(result, "name", "storage");
        caf::put(result, "state", "open");
        caf::put(result, "data-dir", self->state.data_dir.string());
        std::error_code ec;
        auto space = std::filesystem::space(self->state.data_dir, ec);
        if (!ec)
          caf::put(result, "available-bytes",
                   static_cast<caf::config_value::integer>(space.available));
        return result;
      },
  };
}

} // namespace qtc
