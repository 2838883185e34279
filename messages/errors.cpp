#include "messages/errors.hpp"

#include <caf/deep_to_string.hpp>
#include <caf/exit_reason.hpp>
#include <caf/sec.hpp>

namespace qtc {

std::string to_string(errc x) {
  switch (x) {
  case errc::unspecified:
    return "unspecified";
  case errc::restart_intensity_exceeded:
    return "restart_intensity_exceeded";
  case errc::child_start_failed:
    return "child_start_failed";
  case errc::no_such_child:
    return "no_such_child";
  case errc::bind_failed:
    return "bind_failed";
  case errc::data_dir_unusable:
    return "data_dir_unusable";
  case errc::invalid_config:
    return "invalid_config";
  case errc::storage_failed:
    return "storage_failed";
  case errc::not_found:
    return "not_found";
  case errc::refused:
    return "refused";
  case errc::invalid_block:
    return "invalid_block";
  case errc::unauthorized:
    return "unauthorized";
  case errc::operator_restart:
    return "operator_restart";
  }
  return "errc(" + std::to_string(static_cast<int>(x)) + ")";
}

caf::error make_error(errc code, std::string what) {
  return caf::error{static_cast<std::uint8_t>(code), error_category,
                    caf::make_message(std::move(what))};
}

namespace {

std::string context_text(const caf::message& ctx) {
  if (ctx.empty())
    return {};
  if (ctx.size() == 1 && ctx.match_element<std::string>(0))
    return ctx.get_as<std::string>(0);
  return caf::deep_to_string(ctx);
}

} // namespace

std::string render_error(const caf::error& x) {
  if (!x)
    return "none";
  std::string name;
  if (x.category() == error_category)
    name = "qtc." + to_string(static_cast<errc>(x.code()));
  else if (x.category() == caf::atom("system"))
    name = caf::to_string(static_cast<caf::sec>(x.code()));
  else if (x.category() == caf::atom("exit"))
    name = caf::to_string(static_cast<caf::exit_reason>(x.code()));
  else
    name = caf::to_string(x.category()) + "." + std::to_string(x.code());
  auto ctx = context_text(x.context());
  return ctx.empty() ? name : name + ": " + ctx;
}

void register_error_category(caf::actor_system_config& cfg) {
  cfg.add_error_category(
      error_category,
      [](std::uint8_t code, caf::atom_value, const caf::message& ctx) -> std::string {
        auto text = "qtc." + to_string(static_cast<errc>(code));
        auto c = context_text(ctx);
        return c.empty() ? text : text + ": " + c;
      });
}

} // namespace qtc
