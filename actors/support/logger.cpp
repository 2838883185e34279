#include "actors/support/logger.hpp"

#include "messages/services.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/send.hpp>
#include <caf/settings.hpp>

#include <cstdio>

namespace qtc {

logger::logger(caf::actor_system& sys, std::string actor_name)
    : sys_(&sys), actor_(std::move(actor_name)) {
  const auto& cfg = caf::content(sys.config());
  node_ = caf::get_or(cfg, "qtcnode.node-name", std::string{});
  auto level = caf::get_or(cfg, "qtcnode.log-level", std::string{"info"});
  threshold_ = parse_log_level(level).value_or(log_level::info);
}

void logger::log(log_level level, std::string event, log_fields fields) const {
  if (!enabled(level))
    return;
  log_record rec{caf::make_timestamp(), level, node_, actor_, std::move(event), std::move(fields)};
  if (sys_ != nullptr)
    if (const auto* host = services_of(sys_->config()))
      if (auto sink = host->log_sink()) {
        caf::anon_send(sink, log_atom::value, std::move(rec));
        return;
      }
  auto line = format_logfmt(rec);
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stderr);
}

} // namespace qtc
