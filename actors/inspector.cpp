#include "actors/inspector.hpp"

#include "actors/support/metric_names.hpp"
#include "actors/support/status_fields.hpp"
#include "messages/components.hpp"
#include "messages/errors.hpp"
#include "runtime/io/data_dir.hpp"

#include <caf/actor_cast.hpp>
#include <caf/io/middleman.hpp>
#include <caf/send.hpp>

#include <algorithm>

namespace qtc {

namespace {

/// Refuses (and counts) a request its cookie does not allow; nothing when it may run.
std::optional<caf::error> refusal(inspector_pointer self, inspector_request kind,
                                  const std::string& cookie, const char* what) {
  auto& st = self->state;
  if (st.access && st.access->allows(kind, cookie))
    return std::nullopt;
  ++st.refused;
  auto kind_name = kind == inspector_request::action ? "action" : "read";
  st.metrics.count(metric_names::inspector_refusals_total, {{"request", kind_name}});
  st.log.warning("inspector request refused",
                 {{"request", what}, {"reason", cookie.empty() ? "no cookie" : "wrong cookie"}});
  // The answer names no path: the client may be anyone who reached the port.
  return make_error(errc::unauthorized,
                    std::string{"inspector: "} + what
                        + " needs the cookie of <data-dir>/.inspect-cookie (qtc-inspect "
                          "--data-dir=DIR or --cookie-file=FILE)");
}

/// Forwards a request to the component `Handle` (found through the root, so a restarted one is
/// found too) and relays its answer or error.
template <class Handle, class Result, class... Ts>
caf::result<Result> forward(inspector_pointer self, Ts... xs) {
  auto promise = self->make_response_promise<Result>();
  self->request(self->state.root, std::chrono::seconds{5}, whereis_atom::value,
                std::string{component<Handle>::name})
      .then(
          [self, promise, xs...](const caf::actor& handle) mutable {
            self->request(caf::actor_cast<Handle>(handle), std::chrono::seconds{10}, xs...)
                .then([promise](Result& r) mutable { promise.deliver(std::move(r)); },
                      [promise](const caf::error& err) mutable { promise.deliver(err); });
          },
          [promise](const caf::error& err) mutable { promise.deliver(err); });
  return promise;
}

status_report own_status(inspector_pointer self) {
  const auto& st = self->state;
  status_report r;
  report(r, "name", "inspector");
  report(r, "state", st.address.empty() ? "local only" : "published");
  if (!st.address.empty())
    report(r, "address", st.address);
  report(r, "queries", st.queries);
  report(r, "refused", st.refused);
  report(r, "cookie", st.cookie_path.string());
  report(r, "metered-actors", st.meters ? st.meters->size() : 0);
  return r;
}

/// Writes this start's cookie; without one, only loopback reads are allowed.
void write_cookie(inspector_pointer self) {
  auto& st = self->state;
  auto loopback = is_loopback_host(st.config.host);
  if (st.config.data_dir.empty()) {
    st.access.emplace(std::string{}, loopback);
    return;
  }
  auto cookie = make_inspector_cookie();
  auto path = st.config.data_dir / ".inspect-cookie";
  std::string error;
  if (!write_secret_file(path, cookie, error)) {
    st.log.error("inspector cookie failed", {{"reason", error}});
    st.access.emplace(std::string{}, loopback);
    return;
  }
  st.cookie_path = path;
  st.access.emplace(std::move(cookie), loopback);
}

/// The operator's ban commands and disconnect.
auto action_handlers(inspector_pointer self) {
  using action = inspector_request;
  return std::make_tuple(
      [self](put_atom, bans_atom, const std::string& cookie, const std::string& net,
             std::int64_t seconds, const std::string& reason) -> caf::result<bool> {
        if (auto e = refusal(self, action::action, cookie, "ban"))
          return *e;
        return forward<security_actor, bool>(self, put_atom::value, bans_atom::value, net, seconds,
                                             reason);
      },
      [self](delete_atom, bans_atom, const std::string& cookie,
             const std::string& net) -> caf::result<bool> {
        if (auto e = refusal(self, action::action, cookie, "unban"))
          return *e;
        return forward<security_actor, bool>(self, delete_atom::value, bans_atom::value, net);
      },
      [self](clear_atom, bans_atom, const std::string& cookie) -> caf::result<std::uint64_t> {
        if (auto e = refusal(self, action::action, cookie, "clear-bans"))
          return *e;
        return forward<security_actor, std::uint64_t>(self, clear_atom::value, bans_atom::value);
      },
      [self](close_atom, peers_atom, const std::string& cookie,
             const std::string& peer) -> caf::result<bool> {
        if (auto e = refusal(self, action::action, cookie, "disconnect"))
          return *e;
        // "ip:port", or a session id (all digits; more than 19 cannot be one: no session).
        bool is_id = !peer.empty() && peer.find_first_not_of("0123456789") == std::string::npos;
        std::uint64_t id = 0;
        if (is_id && peer.size() <= 19)
          id = std::strtoull(peer.c_str(), nullptr, 10);
        return forward<peer_manager_actor, bool>(self, close_atom::value,
                                                 is_id ? std::string{} : peer, id);
      });
}

/// The log sink's latest records. Asked and relayed, not delegated: a delegated request would
/// have the sink, a detached actor, answer the remote client itself, and a detached actor that
/// sent over CAF's remoting was seen to outlive its termination (the process then waited for
/// it at exit, measured: 1 in 3 stops after a `qtc-inspect log`).
caf::result<std::vector<log_record>> latest_log(inspector_pointer self, const std::string& actor,
                                                log_level level) {
  if (!self->state.config.log_sink)
    return make_error(errc::not_found, "inspector: this node has no log sink");
  auto promise = self->make_response_promise<std::vector<log_record>>();
  self->request(self->state.config.log_sink, std::chrono::seconds{5}, get_atom::value,
                log_atom::value, actor, level)
      .then([promise](std::vector<log_record>& r) mutable { promise.deliver(std::move(r)); },
            [promise](const caf::error& err) mutable { promise.deliver(err); });
  return promise;
}

/// Adds a follower of the log (at most max_log_followers); the inspector subscribes to the log
/// sink for every record on the first one and passes each on to the followers it matches.
caf::result<bool> follow_log(inspector_pointer self, const std::string& actor, log_level level,
                             const log_subscriber_actor& follower) {
  auto& st = self->state;
  if (!st.config.log_sink)
    return make_error(errc::not_found, "inspector: this node has no log sink");
  if (!follower || st.followers.size() >= max_log_followers)
    return false;
  self->monitor(follower);
  st.followers.push_back(log_follower{follower, actor, level});
  if (!st.following_sink) {
    st.following_sink = true;
    self->request(st.config.log_sink, std::chrono::seconds{5}, subscribe_atom::value,
                  log_atom::value, std::string{}, log_level::trace, log_subscriber_actor{self})
        .then([](bool) {}, [self](const caf::error&) { self->state.following_sink = false; });
  }
  return true;
}

} // namespace

inspector_state::~inspector_state() {
  if (!cookie_path.empty()) {
    std::error_code ignored;
    std::filesystem::remove(cookie_path, ignored);
  }
}

inspector_actor::behavior_type inspector(inspector_pointer self, supervisor_actor root,
                                         inspector_config config) {
  auto& st = self->state;
  st.log = logger{self->system(), "inspector"};
  st.metrics = metrics_client{self->system()};
  st.root = std::move(root);
  st.config = std::move(config);
  if (auto* source = dynamic_cast<const metered_system*>(&self->system().config()))
    st.meters = source->meters;
  write_cookie(self);
  self->set_down_handler([self](const caf::down_msg& down) {
    auto& followers = self->state.followers;
    followers.erase(std::remove_if(followers.begin(), followers.end(),
                                   [&](const log_follower& f) { return f.handle == down.source; }),
                    followers.end());
  });
  using action = inspector_request;
  auto [ban, unban, clear, disconnect] = action_handlers(self);
  return {
      [self](status_atom, status_verbosity) -> status_report { return own_status(self); },
      [self](published_atom, std::string& address) { self->state.address = std::move(address); },
      [self](tree_atom, const std::string& cookie,
             status_verbosity v) -> caf::result<status_report> {
        if (auto e = refusal(self, action::read, cookie, "tree"))
          return *e;
        ++self->state.queries;
        return tree_view(self, v);
      },
      [self](top_atom, const std::string& cookie) -> caf::result<status_report> {
        if (auto e = refusal(self, action::read, cookie, "top"))
          return *e;
        ++self->state.queries;
        return top_view(self);
      },
      [self](get_atom, bans_atom,
             const std::string& cookie) -> caf::result<caf::config_value::list> {
        if (auto e = refusal(self, action::read, cookie, "bans"))
          return *e;
        return forward<security_actor, caf::config_value::list>(self, get_atom::value,
                                                                bans_atom::value);
      },
      ban,
      unban,
      clear,
      disconnect,
      [self](restart_atom, const std::string& cookie,
             const std::string& child) -> caf::result<std::uint64_t> {
        if (auto e = refusal(self, action::action, cookie, "restart"))
          return *e;
        if (child == component<inspector_actor>::name)
          return make_error(errc::refused, "inspector: cannot restart itself while it answers "
                                           "(restart the node, or another child)");
        self->state.log.info("operator restart", {{"child", child}});
        return self->delegate(self->state.root, restart_atom::value, child);
      },
      [self](get_atom, log_atom, const std::string& cookie, const std::string& actor,
             log_level level) -> caf::result<std::vector<log_record>> {
        if (auto e = refusal(self, action::read, cookie, "log"))
          return *e;
        return latest_log(self, actor, level);
      },
      [self](subscribe_atom, log_atom, const std::string& cookie, const std::string& actor,
             log_level level, const log_subscriber_actor& follower) -> caf::result<bool> {
        if (auto e = refusal(self, action::read, cookie, "log"))
          return *e;
        return follow_log(self, actor, level, follower);
      },
      [self](log_atom, const log_record& rec) {
        for (const auto& f : self->state.followers)
          if (log_filter_matches(rec, f.actor_prefix, f.level))
            self->send(f.handle, log_atom::value, rec);
      },
  };
}

caf::expected<caf::actor> start_inspector(caf::actor_system& sys, const supervisor_actor& root,
                                          inspector_config config) {
  auto host = config.host;
  auto port = config.port;
  auto cookie =
      config.data_dir.empty() ? std::filesystem::path{} : config.data_dir / ".inspect-cookie";
  auto handle = sys.spawn(inspector, root, std::move(config));
  if (port == 0)
    return caf::actor_cast<caf::actor>(handle);
  auto wanted = static_cast<std::uint16_t>(port < 0 ? 0 : port);
  auto bound = sys.middleman().publish(handle, wanted, host.c_str(), true);
  if (!bound) {
    caf::anon_send_exit(handle, caf::exit_reason::user_shutdown);
    return make_error(errc::bind_failed, "inspector: cannot listen on " + host + ":"
                                             + std::to_string(wanted) + ": "
                                             + render_error(bound.error()));
  }
  auto address = host + ":" + std::to_string(*bound);
  logger{sys, "inspector"}.info("inspector listening",
                                {{"address", address},
                                 {"port", std::to_string(*bound)},
                                 {"cookie", cookie.empty() ? "none" : cookie.string()}});
  caf::anon_send(handle, published_atom::value, address);
  return caf::actor_cast<caf::actor>(handle);
}

} // namespace qtc
