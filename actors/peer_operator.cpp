// The operator's peer commands, as the RPC server sends them (addnode, disconnectnode): added
// peers join the manual list the --addnode peers are in, so they are dialled and kept the same
// way; removing one marks it (its index is what its sessions refer to) and leaves its session up,
// as bitcoind does.
#include "actors/peer_manager_state.hpp"
#include "messages/errors.hpp"
#include "runtime/net/ip_address.hpp"

#include <algorithm>

namespace qtc {

namespace {

/// The added (not removed) manual peer at this host and port, if any.
manual_peer* find_added(peer_manager_state& st, const network_address_entry& entry) {
  auto i = std::find_if(st.manual.begin(), st.manual.end(), [&](const manual_peer& m) {
    return !m.removed && m.entry.host == entry.host && m.entry.port == entry.port;
  });
  return i == st.manual.end() ? nullptr : &*i;
}

} // namespace

caf::result<bool> add_node(peer_manager_pointer self, const std::string& text, bool keep) {
  auto& st = self->state;
  std::string error;
  auto m = make_manual(text, error);
  if (!m)
    return make_error(errc::invalid_config, "\"" + text + "\": " + error);
  if (keep && find_added(st, m->entry) != nullptr)
    return false;
  m->once = !keep;
  st.log.info(keep ? "peer added" : "peer tried once", {{"peer", text}});
  st.manual.push_back(std::move(*m));
  fill_slots(self);
  return true;
}

bool remove_node(peer_manager_pointer self, const std::string& text) {
  auto& st = self->state;
  std::string error;
  auto entry = parse_address_entry(text, error);
  auto* m = entry ? find_added(st, *entry) : nullptr;
  if (m == nullptr || m->once)
    return false;
  m->removed = true;
  st.log.info("peer removed", {{"peer", text}});
  return true;
}

bool disconnect_node(peer_manager_pointer self, const std::string& address, std::uint64_t id) {
  auto& st = self->state;
  auto i = std::find_if(st.entries.begin(), st.entries.end(), [&](const auto& kv) {
    return address.empty() ? kv.first == id
                           : format_endpoint(kv.second.ip, kv.second.port) == address;
  });
  if (i == st.entries.end() || i->second.closing)
    return false;
  i->second.closing = true;
  self->send(i->second.session, close_atom::value, close_reason::shutdown,
             std::string{"disconnected by the operator"});
  return true;
}

} // namespace qtc
