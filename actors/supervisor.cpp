#include "actors/supervisor.hpp"

#include "actors/support/status_fields.hpp"
#include "messages/errors.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <algorithm>
#include <cmath>

namespace qtc {

bool is_abnormal_exit(const caf::error& reason) {
  return reason && reason != caf::exit_reason::normal && reason != caf::exit_reason::user_shutdown;
}

namespace {

using phase = child_slot::phase;

child_slot* find(supervisor_pointer self, std::uint64_t id) {
  auto& xs = self->state.children;
  auto i = std::find_if(xs.begin(), xs.end(), [id](const child_slot& x) { return x.id == id; });
  return i == xs.end() ? nullptr : &*i;
}

child_slot* find(supervisor_pointer self, const caf::actor_addr& addr) {
  for (auto& x : self->state.children)
    if (x.handle && x.handle.address() == addr)
      return &x;
  return nullptr;
}

void remove(supervisor_pointer self, std::uint64_t id) {
  auto& xs = self->state.children;
  xs.erase(std::remove_if(xs.begin(), xs.end(), [id](const child_slot& x) { return x.id == id; }),
           xs.end());
}

/// Delivers an event of this supervisor or of a descendant: up to the parent, or at the root to
/// the configured observer child.
void deliver(supervisor_pointer self, const supervision_event& ev) {
  auto& st = self->state;
  if (st.parent) {
    self->send(st.parent, ev);
    return;
  }
  if (st.spec.event_observer.empty())
    return;
  for (auto& x : st.children)
    if (x.spec.name == st.spec.event_observer && x.state == phase::running)
      caf::anon_send(x.handle, ev); // the observer's interface is not this actor's business
}

void emit(supervisor_pointer self, supervision_event_kind kind, const std::string& child,
          const caf::error& reason = caf::error{}) {
  deliver(self, supervision_event{kind, self->state.spec.name, child,
                                  reason ? render_error(reason) : std::string{}});
}

/// Starts one child and links to it. Returns an error if its start function fails.
caf::error start_child(supervisor_pointer self, child_slot& slot) {
  auto result = slot.spec.start(self->system(), caf::actor_cast<supervisor_actor>(self));
  if (!result)
    return std::move(result.error());
  if (!*result)
    return make_error(errc::child_start_failed, "start function returned no actor");
  slot.handle = std::move(*result);
  slot.state = phase::running;
  self->link_to(slot.handle);
  self->monitor(slot.handle);
  return caf::error{};
}

void handle_failure(supervisor_pointer self, std::uint64_t id, caf::error reason);

/// Handles failures that arrived while a stop sequence was running.
void drain_failures(supervisor_pointer self) {
  auto& st = self->state;
  while (!st.shutting_down && st.stop_queue.empty() && !st.pending_failures.empty()) {
    auto [id, reason] = std::move(st.pending_failures.front());
    st.pending_failures.pop_front();
    handle_failure(self, id, std::move(reason));
  }
}

/// Stops the children in `stop_queue` one after another, then runs `after_stops`.
void continue_stops(supervisor_pointer self) {
  auto& st = self->state;
  while (!st.stop_queue.empty()) {
    auto* slot = find(self, st.stop_queue.front());
    if (slot == nullptr || slot->state == phase::down) {
      st.stop_queue.pop_front();
      continue;
    }
    if (slot->state == phase::stopping)
      return; // its exit (or its deadline) continues the sequence
    slot->state = phase::stopping;
    st.log.debug("stopping child", {{"child", slot->spec.name}});
    self->send_exit(slot->handle, caf::exit_reason::user_shutdown);
    self->delayed_send(self, slot->spec.shutdown_timeout, deadline_atom::value, slot->id);
    return;
  }
  if (auto next = std::move(st.after_stops)) {
    st.after_stops = nullptr;
    next();
  }
  drain_failures(self);
}

/// Appends the running children among `ids` to the stop queue in reverse start order.
void queue_stops_reversed(supervisor_pointer self, const std::vector<std::uint64_t>& ids) {
  auto& st = self->state;
  for (auto i = st.children.rbegin(); i != st.children.rend(); ++i)
    if (i->state != phase::down && std::find(ids.begin(), ids.end(), i->id) != ids.end()
        && std::find(st.stop_queue.begin(), st.stop_queue.end(), i->id) == st.stop_queue.end())
      st.stop_queue.push_back(i->id);
}

std::vector<std::uint64_t> all_ids(supervisor_pointer self) {
  std::vector<std::uint64_t> ids;
  for (auto& x : self->state.children)
    ids.push_back(x.id);
  return ids;
}

/// Stops every child in reverse start order, then exits with `reason`.
void begin_shutdown(supervisor_pointer self, caf::error reason) {
  auto& st = self->state;
  if (st.shutting_down)
    return;
  st.shutting_down = true;
  ++st.restart_epoch; // cancels any scheduled restart
  st.pending_failures.clear();
  st.log.info("shutting down", {{"reason", render_error(reason)}});
  // A child being stopped right now stays first; everything else follows in reverse order.
  std::deque<std::uint64_t> keep;
  if (!st.stop_queue.empty())
    keep.push_back(st.stop_queue.front());
  st.stop_queue = std::move(keep);
  queue_stops_reversed(self, all_ids(self));
  st.after_stops = [self, reason = std::move(reason)] { self->quit(reason); };
  continue_stops(self);
}

/// Starts, in start order, every down child among `ids`; temporary ones are dropped instead.
void start_set(supervisor_pointer self, const std::vector<std::uint64_t>& ids) {
  auto& st = self->state;
  std::vector<std::uint64_t> order;
  for (auto& x : st.children)
    if (std::find(ids.begin(), ids.end(), x.id) != ids.end())
      order.push_back(x.id);
  for (auto id : order) {
    auto* slot = find(self, id);
    if (slot == nullptr || slot->state != phase::down)
      continue;
    if (slot->spec.restart == restart_type::temporary) {
      // OTP: a temporary child stopped by a sibling's restart is not restarted.
      emit(self, supervision_event_kind::stopped, slot->spec.name);
      remove(self, id);
      continue;
    }
    if (auto err = start_child(self, *slot)) {
      st.log.error("child failed to restart",
                   {{"child", slot->spec.name}, {"reason", render_error(err)}});
      st.pending_failures.emplace_back(id, std::move(err));
      continue;
    }
    ++slot->restarts;
    st.log.info("child restarted", {{"child", slot->spec.name},
                                    {"restarts", std::to_string(slot->restarts)},
                                    {"actor_id", std::to_string(slot->handle.id())}});
    emit(self, supervision_event_kind::restarted, slot->spec.name);
  }
  drain_failures(self);
}

caf::timespan backoff_delay(const supervisor_state& st) {
  auto n = st.restart_times.size();
  const auto& b = st.spec.backoff;
  if (b.initial.count() <= 0 || n == 0)
    return caf::timespan{0};
  double scaled = static_cast<double>(b.initial.count()) * std::pow(b.factor, double(n - 1));
  auto capped = std::min(scaled, static_cast<double>(b.max.count()));
  return caf::timespan{static_cast<caf::timespan::rep>(capped)};
}

void handle_failure(supervisor_pointer self, std::uint64_t id, caf::error reason) {
  auto& st = self->state;
  auto* slot = find(self, id);
  if (slot == nullptr || st.shutting_down)
    return;
  auto name = slot->spec.name;
  bool abnormal = is_abnormal_exit(reason);
  bool restart = slot->spec.restart == restart_type::permanent
                 || (slot->spec.restart == restart_type::transient && abnormal);
  st.log.log(
      abnormal ? log_level::warning : log_level::info, "child exited",
      {{"child", name}, {"reason", render_error(reason)}, {"restart", restart ? "yes" : "no"}});
  if (!restart) {
    emit(self, supervision_event_kind::stopped, name, reason);
    if (slot->dynamic || slot->spec.restart == restart_type::temporary)
      remove(self, id);
    return;
  }
  // Intensity: more than max_restarts within period escalates.
  auto now = self->clock().now();
  st.restart_times.push_back(now);
  while (!st.restart_times.empty() && st.restart_times.front() < now - st.spec.intensity.period)
    st.restart_times.pop_front();
  if (st.restart_times.size() > st.spec.intensity.max_restarts) {
    auto what = "supervisor " + st.spec.name + ": more than "
                + std::to_string(st.spec.intensity.max_restarts) + " restarts in "
                + format_duration(st.spec.intensity.period) + "; last: child " + name
                + " exited with " + render_error(reason);
    st.log.error("restart intensity exceeded",
                 {{"child", name},
                  {"max_restarts", std::to_string(st.spec.intensity.max_restarts)},
                  {"period", format_duration(st.spec.intensity.period)}});
    emit(self, supervision_event_kind::escalated, name, reason);
    begin_shutdown(self, make_error(errc::restart_intensity_exceeded, std::move(what)));
    return;
  }
  // The strategy picks the set; it joins any restart already scheduled.
  std::vector<std::uint64_t> set;
  switch (st.spec.strategy) {
  case restart_strategy::one_for_one:
    set.push_back(id);
    break;
  case restart_strategy::rest_for_one: {
    bool from_here = false;
    for (auto& x : st.children) {
      from_here = from_here || x.id == id;
      if (from_here)
        set.push_back(x.id);
    }
    break;
  }
  case restart_strategy::one_for_all:
    set = all_ids(self);
    break;
  }
  auto& pending = st.pending_restart;
  for (auto x : set)
    if (std::find(pending.begin(), pending.end(), x) == pending.end())
      pending.push_back(x);
  auto epoch = ++st.restart_epoch;
  auto delay = backoff_delay(st);
  queue_stops_reversed(self, set);
  st.after_stops = [self, epoch, delay] {
    if (delay.count() > 0) {
      self->state.log.info("restart scheduled", {{"delay", format_duration(delay)}});
      self->delayed_send(self, delay, restart_atom::value, epoch);
    } else {
      auto ids = std::move(self->state.pending_restart);
      self->state.pending_restart.clear();
      start_set(self, ids);
    }
  };
  continue_stops(self);
}

caf::settings status_of(supervisor_pointer self, status_verbosity v) {
  auto& st = self->state;
  caf::settings result;
  report(result, "name", st.spec.name);
  report(result, "state",
         st.shutting_down              ? "stopping"
         : !st.pending_restart.empty() ? "restarting"
                                       : "running");
  report(result, "strategy", to_string(st.spec.strategy));
  report(result, "children", st.children.size());
  report(result, "recent-restarts", st.restart_times.size());
  if (v >= status_verbosity::detailed) {
    caf::config_value::list kids;
    for (auto& x : st.children) {
      caf::settings kid;
      report(kid, "name", x.spec.name);
      report(kid, "state",
             x.state == phase::running    ? "running"
             : x.state == phase::stopping ? "stopping"
                                          : "down");
      report(kid, "restart", to_string(x.spec.restart));
      report(kid, "restarts", x.restarts);
      if (x.handle)
        report(kid, "actor-id", x.handle.id());
      kids.emplace_back(std::move(kid));
    }
    report(result, "child-list", std::move(kids));
  }
  return result;
}

/// An exit message: a child's (its down message tells how it ended, so this is ignored), the
/// echo of a child that stopped on its own, or the parent asking this supervisor to stop.
void on_exit(supervisor_pointer self, caf::exit_msg& msg) {
  auto& st = self->state;
  if (find(self, msg.source) != nullptr)
    return; // a child's exit: its down message is handled instead
  auto& gone = st.recently_down;
  if (auto i = std::find(gone.begin(), gone.end(), msg.source); i != gone.end()) {
    gone.erase(i); // the link's echo of a child that stopped on its own
    return;
  }
  // Neither a child nor a former one: the parent (or the node) asks this supervisor to stop.
  begin_shutdown(self, std::move(msg.reason));
}

/// A child this supervisor asked to stop has stopped: the stop sequence goes on.
void on_stopped(supervisor_pointer self, child_slot& slot, const caf::error& reason) {
  auto& st = self->state;
  st.log.debug("child stopped", {{"child", slot.spec.name}, {"reason", render_error(reason)}});
  if (st.shutting_down)
    emit(self, supervision_event_kind::stopped, slot.spec.name, reason);
  if (!st.stop_queue.empty() && st.stop_queue.front() == slot.id)
    st.stop_queue.pop_front();
  continue_stops(self);
}

/// A child failed while a stop sequence runs: its failure is handled when the sequence is done
/// (unless the sequence is a restart that covers this child anyway).
void on_failed_during_stops(supervisor_pointer self, child_slot& slot, caf::error reason) {
  auto& st = self->state;
  auto& q = st.stop_queue;
  if (auto queued = std::find(q.begin(), q.end(), slot.id); queued != q.end())
    q.erase(queued);
  auto& pending = st.pending_restart;
  if (std::find(pending.begin(), pending.end(), slot.id) == pending.end())
    st.pending_failures.emplace_back(slot.id, std::move(reason));
  else
    st.log.info("child exited during restart",
                {{"child", slot.spec.name}, {"reason", render_error(reason)}});
}

/// A child stopped: asked to (the stop sequence goes on) or on its own (a failure to handle).
void on_down(supervisor_pointer self, caf::down_msg& msg) {
  auto& st = self->state;
  auto* slot = find(self, msg.source);
  if (slot == nullptr)
    return;
  bool was_stopping = slot->state == phase::stopping;
  if (!was_stopping) {
    // A child that stopped on its own still has its link, whose exit message follows.
    st.recently_down.push_back(msg.source);
    if (st.recently_down.size() > supervisor_state::recently_down_limit)
      st.recently_down.pop_front();
  }
  slot->state = phase::down;
  slot->handle = nullptr;
  if (was_stopping)
    return on_stopped(self, *slot, msg.reason);
  if (st.shutting_down)
    return; // the stop sequence skips it
  if (!st.stop_queue.empty() || st.after_stops)
    return on_failed_during_stops(self, *slot, std::move(msg.reason));
  handle_failure(self, slot->id, std::move(msg.reason));
}

/// Starts the static children in order; a failure stops those started and fails this supervisor.
void start_static_children(supervisor_pointer self) {
  auto& st = self->state;
  for (auto& slot : st.children) {
    if (auto err = start_child(self, slot)) {
      st.log.error("child failed to start",
                   {{"child", slot.spec.name}, {"reason", render_error(err)}});
      begin_shutdown(self, make_error(errc::child_start_failed,
                                      "supervisor " + st.spec.name + ": child " + slot.spec.name
                                          + " failed to start: " + render_error(err)));
      break;
    }
    st.log.debug("child started",
                 {{"child", slot.spec.name}, {"actor_id", std::to_string(slot.handle.id())}});
    emit(self, supervision_event_kind::started, slot.spec.name);
  }
}

std::vector<child_info> children_of(supervisor_pointer self) {
  std::vector<child_info> result;
  for (auto& x : self->state.children)
    result.push_back(child_info{x.spec.name, x.state == phase::running ? x.handle : nullptr,
                                x.spec.restart, x.spec.supervisor, x.restarts});
  return result;
}

caf::result<caf::actor> running_child(supervisor_pointer self, const std::string& name) {
  for (auto& x : self->state.children)
    if (x.spec.name == name && x.state == phase::running)
      return x.handle;
  return make_error(errc::no_such_child,
                    "supervisor " + self->state.spec.name + " has no running child " + name);
}

/// The operator's restart of a running child: it is stopped with errc::operator_restart, an
/// abnormal exit, so the strategy, the backoff and the restart intensity apply as to a failure.
caf::result<std::uint64_t> restart_on_request(supervisor_pointer self, const std::string& name) {
  auto& st = self->state;
  for (auto& x : st.children)
    if (x.spec.name == name && x.state == phase::running) {
      st.log.info("child restart requested", {{"child", name}});
      self->send_exit(x.handle, make_error(errc::operator_restart,
                                           "restart of " + name + " requested by the operator"));
      return static_cast<std::uint64_t>(x.restarts);
    }
  return make_error(errc::no_such_child,
                    "supervisor " + st.spec.name + " has no running child " + name);
}

/// Starts a dynamic child, appended after the static ones.
caf::result<caf::actor> start_dynamic_child(supervisor_pointer self, child_spec& cs) {
  auto& st = self->state;
  if (st.shutting_down)
    return make_error(errc::child_start_failed, "supervisor " + st.spec.name + " is stopping");
  for (auto& x : st.children)
    if (x.spec.name == cs.name && x.state != phase::down)
      return make_error(errc::child_start_failed, "a child named " + cs.name + " runs already");
  auto id = st.next_id++;
  st.children.push_back(child_slot{id, std::move(cs), caf::actor{}, phase::down, 0, true});
  auto& slot = st.children.back();
  if (auto err = start_child(self, slot)) {
    remove(self, id);
    return err;
  }
  emit(self, supervision_event_kind::started, slot.spec.name);
  return slot.handle;
}

/// A scheduled restart is due (unless a later failure superseded it or a stop cancelled it).
void on_restart_due(supervisor_pointer self, std::uint64_t epoch) {
  auto& st = self->state;
  if (epoch != st.restart_epoch || st.shutting_down)
    return;
  auto ids = std::move(st.pending_restart);
  st.pending_restart.clear();
  start_set(self, ids);
}

/// A stopping child's shutdown timeout expired: it is killed. (Its link to this supervisor went
/// when it received the stop request, so the kill does not come back here.)
void on_stop_deadline(supervisor_pointer self, std::uint64_t id) {
  auto* slot = find(self, id);
  if (slot == nullptr || slot->state != phase::stopping)
    return;
  self->state.log.warning(
      "child did not stop in time; killing it",
      {{"child", slot->spec.name}, {"timeout", format_duration(slot->spec.shutdown_timeout)}});
  self->send_exit(slot->handle, caf::exit_reason::kill);
}

} // namespace

supervisor_actor::behavior_type supervisor(supervisor_pointer self, supervisor_spec spec,
                                           supervisor_actor parent) {
  auto& st = self->state;
  st.log = logger{self->system(), "supervisor/" + spec.name};
  st.parent = std::move(parent);
  st.spec = std::move(spec);
  for (auto& cs : st.spec.children)
    st.children.push_back(child_slot{st.next_id++, cs, caf::actor{}, phase::down, 0, false});
  // Links make children die with their supervisor; monitors tell the supervisor how a child
  // ended. (A child that receives an exit message from its supervisor drops the link at once,
  // so only the down message reliably reports a requested stop.)
  self->set_exit_handler([self](caf::exit_msg& msg) { on_exit(self, msg); });
  self->set_down_handler([self](caf::down_msg& msg) { on_down(self, msg); });
  start_static_children(self);
  return {
      [self](status_atom, status_verbosity v) -> status_report { return status_of(self, v); },
      [self](children_atom) { return children_of(self); },
      [self](whereis_atom, const std::string& name) { return running_child(self, name); },
      [self](start_atom, child_spec& cs) { return start_dynamic_child(self, cs); },
      [self](restart_atom, const std::string& name) { return restart_on_request(self, name); },
      [self](const supervision_event& ev) { deliver(self, ev); },
      [self](restart_atom, std::uint64_t epoch) { on_restart_due(self, epoch); },
      [self](deadline_atom, std::uint64_t id) { on_stop_deadline(self, id); },
  };
}

child_spec supervisor_child(supervisor_spec spec, restart_type restart) {
  child_spec result;
  result.name = spec.name;
  result.restart = restart;
  result.supervisor = true;
  // A supervisor needs time to stop its own children first.
  caf::timespan total{0};
  for (auto& c : spec.children)
    total += c.shutdown_timeout;
  result.shutdown_timeout = total + std::chrono::seconds{1};
  result.start =
      [spec = std::move(spec)](caf::actor_system& sys,
                               const supervisor_actor& parent) -> caf::expected<caf::actor> {
    return caf::actor_cast<caf::actor>(sys.spawn(supervisor, spec, parent));
  };
  return result;
}

} // namespace qtc
