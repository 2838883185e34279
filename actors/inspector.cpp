#include "actors/inspector.hpp"

#include "messages/components.hpp"
#include "messages/errors.hpp"

#include <caf/actor_cast.hpp>
#include <caf/io/middleman.hpp>
#include <caf/send.hpp>

#include <memory>

namespace qtc {

namespace {

/// Collects the children's reports for one tree query.
struct tree_query {
  caf::typed_response_promise<status_report> promise;
  std::vector<caf::config_value> reports; ///< in start order
  std::size_t pending = 0;
  std::string node_name;

  void finish_one() {
    if (--pending == 0)
      deliver();
  }

  void deliver() {
    status_report result;
    caf::put(result, "node", node_name);
    caf::put(result, "components", caf::config_value::list(reports.begin(), reports.end()));
    promise.deliver(std::move(result));
  }
};

caf::settings unanswered(const std::string& name, const std::string& state) {
  caf::settings s;
  caf::put(s, "name", name);
  caf::put(s, "state", state);
  return s;
}

using inspector_pointer = inspector_actor::stateful_pointer<inspector_state>;

/// Forwards an operator's ban command to the security manager (found through the root, so a
/// restarted one is found too) and relays its answer or error.
template <class Result, class... Ts>
caf::result<Result> to_security(inspector_pointer self, Ts... xs) {
  auto promise = self->make_response_promise<Result>();
  self->request(self->state.root, std::chrono::seconds{5}, whereis_atom::value,
                std::string{component<security_actor>::name})
      .then(
          [self, promise, xs...](const caf::actor& security) mutable {
            self->request(caf::actor_cast<security_actor>(security), std::chrono::seconds{10},
                          xs...)
                .then([promise](Result& r) mutable { promise.deliver(std::move(r)); },
                      [promise](const caf::error& err) mutable { promise.deliver(err); });
          },
          [promise](const caf::error& err) mutable { promise.deliver(err); });
  return promise;
}

} // namespace

inspector_actor::behavior_type inspector(inspector_actor::stateful_pointer<inspector_state> self,
                                         supervisor_actor root, std::string node_name) {
  self->state.log = logger{self->system(), "inspector"};
  self->state.root = std::move(root);
  self->state.node_name = std::move(node_name);
  return {
      [self](status_atom, status_verbosity) -> status_report {
        caf::settings result;
        caf::put(result, "name", "inspector");
        caf::put(result, "state", self->state.address.empty() ? "local only" : "published");
        if (!self->state.address.empty())
          caf::put(result, "address", self->state.address);
        caf::put(result, "queries", static_cast<caf::config_value::integer>(self->state.queries));
        return result;
      },
      [self](published_atom, std::string& address) { self->state.address = std::move(address); },
      [self](get_atom, bans_atom) {
        return to_security<caf::config_value::list>(self, get_atom::value, bans_atom::value);
      },
      [self](put_atom, bans_atom, const std::string& net, std::int64_t seconds,
             const std::string& reason) {
        return to_security<bool>(self, put_atom::value, bans_atom::value, net, seconds, reason);
      },
      [self](delete_atom, bans_atom, const std::string& net) {
        return to_security<bool>(self, delete_atom::value, bans_atom::value, net);
      },
      [self](clear_atom, bans_atom) {
        return to_security<std::uint64_t>(self, clear_atom::value, bans_atom::value);
      },
      [self](tree_atom, status_verbosity v) -> caf::result<status_report> {
        ++self->state.queries;
        auto query = std::make_shared<tree_query>();
        query->promise = self->make_response_promise<status_report>();
        query->node_name = self->state.node_name;
        self->request(self->state.root, std::chrono::seconds{5}, children_atom::value)
            .then(
                [self, query, v](const std::vector<child_info>& children) {
                  query->reports.resize(children.size());
                  query->pending = children.size() + 1; // +1 until every request is out
                  for (std::size_t i = 0; i < children.size(); ++i) {
                    const auto& c = children[i];
                    if (!c.handle) {
                      query->reports[i] = unanswered(c.name, "down");
                      --query->pending;
                      continue;
                    }
                    if (c.handle == caf::actor_cast<caf::actor>(self)) {
                      // Asking itself would wait for its own answer.
                      caf::settings own;
                      caf::put(own, "name", "inspector");
                      caf::put(own, "state",
                               self->state.address.empty() ? "local only" : "published");
                      query->reports[i] = std::move(own);
                      --query->pending;
                      continue;
                    }
                    auto name = c.name;
                    self->request(caf::actor_cast<status_actor>(c.handle), std::chrono::seconds{2},
                                  status_atom::value, v)
                        .then(
                            [query, i](status_report& r) {
                              query->reports[i] = std::move(r);
                              query->finish_one();
                            },
                            [query, i, name](const caf::error& err) {
                              query->reports[i] =
                                  unanswered(name, "no answer: " + render_error(err));
                              query->finish_one();
                            });
                  }
                  query->finish_one();
                },
                [query](const caf::error& err) { query->promise.deliver(err); });
        return query->promise;
      },
  };
}

caf::expected<caf::actor> start_inspector(caf::actor_system& sys, const supervisor_actor& root,
                                          std::string node_name, const std::string& host,
                                          int port) {
  auto handle = sys.spawn(inspector, root, std::move(node_name));
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
                                {{"address", address}, {"port", std::to_string(*bound)}});
  caf::anon_send(handle, published_atom::value, address);
  return caf::actor_cast<caf::actor>(handle);
}

} // namespace qtc
