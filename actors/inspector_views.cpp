// The inspector's two composite views: `tree` (every component's status with its meter) and
// `top` (every actor's meter, the peers, sync and bans), each gathered from several actors.
#include "actors/inspector.hpp"
#include "actors/support/status_fields.hpp"
#include "messages/components.hpp"
#include "messages/errors.hpp"

#include <caf/actor_cast.hpp>

#include <functional>
#include <memory>

namespace qtc {

namespace {

constexpr auto component_timeout = std::chrono::seconds{2};

/// Gathers the parts of one answer; delivers it when the last part arrived.
struct gathering {
  caf::typed_response_promise<status_report> promise;
  status_report result;
  std::size_t pending = 1;                      ///< +1 until every request is out
  std::function<void(status_report&)> complete; ///< adds what was gathered elsewhere

  void finish_one() {
    if (--pending != 0)
      return;
    if (complete)
      complete(result);
    promise.deliver(std::move(result));
  }
};

caf::settings unanswered(const std::string& name, const std::string& state) {
  caf::settings s;
  report(s, "name", name);
  report(s, "state", state);
  return s;
}

double milliseconds(meter_ns ns) {
  return static_cast<double>(ns) / 1e6;
}

/// The meters of the actors named `name` (e.g. every peer session).
caf::config_value::list meters_named(const inspector_state& st, const std::string& name) {
  caf::config_value::list out;
  if (!st.meters)
    return out;
  for (const auto& a : st.meters->read(tick_clock::now()))
    if (a.name == name)
      out.emplace_back(meter_report(a));
  return out;
}

/// Asks one child for its status into `reports[i]`, with its meter.
void ask_child(inspector_pointer self, std::shared_ptr<gathering> g,
               std::shared_ptr<caf::config_value::list> reports, std::size_t i, const child_info& c,
               status_verbosity v) {
  auto with_meter = [self, id = c.handle ? c.handle->id() : 0](status_report r) {
    metered_actor_info a;
    if (self->state.meters && self->state.meters->read_one(id, tick_clock::now(), a))
      report(r, "actor", meter_report(a));
    return r;
  };
  if (!c.handle) {
    (*reports)[i] = unanswered(c.name, "down");
    return;
  }
  ++g->pending;
  if (c.handle == caf::actor_cast<caf::actor>(self)) {
    // Asking itself would wait for its own answer.
    (*reports)[i] = with_meter(
        unanswered("inspector", self->state.address.empty() ? "local only" : "published"));
    g->finish_one();
    return;
  }
  auto name = c.name;
  self->request(caf::actor_cast<status_actor>(c.handle), component_timeout, status_atom::value, v)
      .then(
          [g, reports, i, with_meter](status_report& r) {
            (*reports)[i] = with_meter(std::move(r));
            g->finish_one();
          },
          [g, reports, i, name](const caf::error& err) {
            (*reports)[i] = unanswered(name, "no answer: " + render_error(err));
            g->finish_one();
          });
}

/// Asks the component `Handle` (through the root) for something and stores `shape(answer)`
/// under `key` of the result, or {"error": ...} if it does not answer.
template <class Handle, class Result, class Shape, class... Ts>
void gather_from(inspector_pointer self, std::shared_ptr<gathering> g, std::string key, Shape shape,
                 Ts... xs) {
  ++g->pending;
  auto failed = [g, key](const caf::error& err) {
    status_report e;
    report(e, "error", render_error(err));
    report(g->result, key, std::move(e));
    g->finish_one();
  };
  self->request(self->state.root, component_timeout, whereis_atom::value,
                std::string{component<Handle>::name})
      .then(
          [self, g, key, shape, failed, xs...](const caf::actor& handle) {
            self->request(caf::actor_cast<Handle>(handle), component_timeout, xs...)
                .then(
                    [g, key, shape](Result& r) {
                      report(g->result, key, shape(std::move(r)));
                      g->finish_one();
                    },
                    failed);
          },
          failed);
}

} // namespace

status_report meter_report(const metered_actor_info& a) {
  status_report r;
  report(r, "id", a.id);
  report(r, "name", a.name);
  if (!a.label.empty())
    report(r, "label", a.label);
  report(r, "mailbox", a.load.mailbox);
  report(r, "messages-per-second", a.load.rate);
  report(r, "slowest-ms", milliseconds(a.load.slowest_ns));
  report(r, "handling-ms", milliseconds(a.load.handling_for_ns));
  report(r, "handled", a.load.handled);
  report(r, "busy-ms", milliseconds(a.load.busy_ns));
  return r;
}

caf::result<status_report> tree_view(inspector_pointer self, status_verbosity v) {
  auto g = std::make_shared<gathering>();
  g->promise = self->make_response_promise<status_report>();
  report(g->result, "node", self->state.config.node_name);
  self->request(self->state.root, std::chrono::seconds{5}, children_atom::value)
      .then(
          [self, g, v](const std::vector<child_info>& children) {
            auto reports = std::make_shared<caf::config_value::list>(children.size());
            g->complete = [reports](status_report& r) {
              report(r, "components", std::move(*reports));
            };
            for (std::size_t i = 0; i < children.size(); ++i)
              ask_child(self, g, reports, i, children[i], v);
            report(g->result, "sessions", meters_named(self->state, "peer_session"));
            // The root's own report: its children's states and restarts.
            ++g->pending;
            self->request(self->state.root, component_timeout, status_atom::value, v)
                .then(
                    [g](status_report& r) {
                      report(g->result, "supervisor", std::move(r));
                      g->finish_one();
                    },
                    [g](const caf::error& err) {
                      report(g->result, "supervisor", unanswered("root", render_error(err)));
                      g->finish_one();
                    });
            g->finish_one();
          },
          [g](const caf::error& err) { g->promise.deliver(err); });
  return g->promise;
}

caf::result<status_report> top_view(inspector_pointer self) {
  auto g = std::make_shared<gathering>();
  g->promise = self->make_response_promise<status_report>();
  report(g->result, "node", self->state.config.node_name);
  caf::config_value::list actors;
  if (self->state.meters)
    for (const auto& a : self->state.meters->read(tick_clock::now()))
      actors.emplace_back(meter_report(a));
  report(g->result, "actors", std::move(actors));
  gather_from<peer_manager_actor, status_report>(
      self, g, "peers",
      [](status_report r) -> caf::config_value {
        if (auto i = r.find("peers"); i != r.end())
          if (auto* peers = caf::get_if<caf::config_value::list>(&i->second))
            return caf::config_value{*peers};
        return caf::config_value{caf::config_value::list{}};
      },
      status_atom::value, status_verbosity::detailed);
  gather_from<sync_actor, status_report>(
      self, g, "sync", [](status_report r) { return r; }, status_atom::value,
      status_verbosity::info);
  gather_from<security_actor, caf::config_value::list>(
      self, g, "bans", [](caf::config_value::list l) { return l; }, get_atom::value,
      bans_atom::value);
  g->finish_one();
  return g->promise;
}

} // namespace qtc
