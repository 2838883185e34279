// Supervisor semantics, on the deterministic simulation harness.
#include "actors/supervisor.hpp"
#include "messages/errors.hpp"
#include "support/simulation.hpp"

#include <caf/actor_cast.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>

#include <stdexcept>

using namespace qtc;
using namespace std::chrono_literals;

namespace {

using crash_atom = caf::atom_constant<caf::atom("crash")>;
using finish_atom = caf::atom_constant<caf::atom("finish")>;

/// A test child: reports "start:<name>" and "stop:<name>" to the recorder; throws on `crash`,
/// exits normally on `finish`. With `stubborn`, it ignores requests to stop.
caf::behavior worker(caf::event_based_actor* self, std::string name, caf::actor recorder,
                     bool stubborn) {
  self->send(recorder, "start:" + name);
  self->set_exit_handler([self, name, recorder, stubborn](caf::exit_msg& msg) {
    if (stubborn)
      return;
    self->send(recorder, "stop:" + name);
    self->quit(msg.reason);
  });
  return {
      [name](crash_atom) { throw std::runtime_error("boom in " + name); },
      [self](finish_atom) { self->quit(caf::exit_reason::normal); },
  };
}

child_spec worker_child(std::string name, caf::actor recorder,
                        restart_type restart = restart_type::permanent, bool stubborn = false) {
  child_spec cs;
  cs.name = name;
  cs.restart = restart;
  cs.start = [name, recorder, stubborn](caf::actor_system& sys,
                                        const supervisor_actor&) -> caf::expected<caf::actor> {
    return sys.spawn(worker, name, recorder, stubborn);
  };
  return cs;
}

supervisor_spec make_spec(restart_strategy strategy, std::vector<child_spec> children) {
  supervisor_spec spec;
  spec.name = "test";
  spec.strategy = strategy;
  spec.intensity = restart_intensity{3, 10s};
  spec.children = std::move(children);
  return spec;
}

struct fixture : test::simulation {
  caf::actor recorder() {
    return caf::actor_cast<caf::actor>(self);
  }

  supervisor_actor spawn_supervisor(supervisor_spec spec) {
    auto sup = own(sys.spawn(supervisor, std::move(spec), supervisor_actor{}));
    self->monitor(sup);
    run();
    return sup;
  }

  std::vector<child_info> children(const supervisor_actor& sup) {
    return request<std::vector<child_info>>(sup, children_atom::value).value();
  }

  caf::actor child(const supervisor_actor& sup, const std::string& name) {
    for (auto& c : children(sup))
      if (c.name == name)
        return c.handle;
    return {};
  }

  /// What the workers reported since the last call, space-separated: "start:a stop:b".
  std::string events() {
    std::string result;
    for (auto& x : inbox<std::string>())
      result += (result.empty() ? "" : " ") + x;
    return result;
  }

  /// The down message of a monitored actor, if it arrived.
  std::optional<caf::down_msg> down() {
    auto xs = inbox<caf::down_msg>();
    if (xs.empty())
      return std::nullopt;
    return xs.front();
  }
};

} // namespace

TEST_CASE_FIXTURE(fixture, "supervisor starts children in order") {
  auto sup = spawn_supervisor(make_spec(
      restart_strategy::one_for_one, {worker_child("a", recorder()), worker_child("b", recorder()),
                                      worker_child("c", recorder())}));
  CHECK(events() == "start:a start:b start:c");
  auto kids = children(sup);
  REQUIRE(kids.size() == 3);
  for (auto& k : kids)
    CHECK(k.handle);
}

TEST_CASE_FIXTURE(fixture, "one_for_one restarts only the child that threw") {
  auto sup = spawn_supervisor(make_spec(
      restart_strategy::one_for_one, {worker_child("a", recorder()), worker_child("b", recorder()),
                                      worker_child("c", recorder())}));
  events();
  auto a = child(sup, "a");
  auto b = child(sup, "b");
  auto c = child(sup, "c");
  self->send(b, crash_atom::value);
  run();
  CHECK(events() == "start:b");
  CHECK(child(sup, "a") == a);
  CHECK(child(sup, "c") == c);
  auto b2 = child(sup, "b");
  CHECK(b2);
  CHECK(b2 != b);
  for (auto& k : children(sup))
    CHECK(k.restarts == (k.name == "b" ? 1u : 0u));
}

TEST_CASE_FIXTURE(fixture, "rest_for_one restarts the failed child and those started after it") {
  auto sup =
      spawn_supervisor(make_spec(restart_strategy::rest_for_one,
                                 {worker_child("a", recorder()), worker_child("b", recorder()),
                                  worker_child("c", recorder()), worker_child("d", recorder())}));
  events();
  auto a = child(sup, "a");
  self->send(child(sup, "b"), crash_atom::value);
  run();
  // Later siblings stop in reverse start order, then the set starts again in start order.
  CHECK(events() == "stop:d stop:c start:b start:c start:d");
  CHECK(child(sup, "a") == a);
}

TEST_CASE_FIXTURE(fixture, "one_for_all restarts every child") {
  auto sup = spawn_supervisor(make_spec(
      restart_strategy::one_for_all, {worker_child("a", recorder()), worker_child("b", recorder()),
                                      worker_child("c", recorder())}));
  events();
  self->send(child(sup, "b"), crash_atom::value);
  run();
  CHECK(events() == "stop:c stop:a start:a start:b start:c");
}

TEST_CASE_FIXTURE(fixture, "transient children restart only after an abnormal exit") {
  auto sup = spawn_supervisor(make_spec(restart_strategy::one_for_one,
                                        {worker_child("t", recorder(), restart_type::transient)}));
  events();
  self->send(child(sup, "t"), crash_atom::value);
  run();
  CHECK(events() == "start:t");
  self->send(child(sup, "t"), finish_atom::value);
  run();
  CHECK(events() == "");
  auto kids = children(sup);
  REQUIRE(kids.size() == 1); // a stopped transient child keeps its place, down
  CHECK_FALSE(kids[0].handle);
}

TEST_CASE_FIXTURE(fixture, "temporary children are never restarted and are removed") {
  auto sup = spawn_supervisor(make_spec(
      restart_strategy::one_for_one, {worker_child("perm", recorder()),
                                      worker_child("temp", recorder(), restart_type::temporary)}));
  events();
  self->send(child(sup, "temp"), crash_atom::value);
  run();
  CHECK(events() == "");
  auto kids = children(sup);
  REQUIRE(kids.size() == 1);
  CHECK(kids[0].name == "perm");
}

TEST_CASE_FIXTURE(fixture, "dynamic temporary children can be started and are not restarted") {
  auto sup =
      spawn_supervisor(make_spec(restart_strategy::one_for_one, {worker_child("a", recorder())}));
  events();
  auto peer = request<caf::actor>(sup, start_atom::value,
                                  worker_child("peer-1", recorder(), restart_type::temporary));
  REQUIRE(peer);
  CHECK(events() == "start:peer-1");
  CHECK(children(sup).size() == 2);
  self->send(*peer, crash_atom::value);
  run();
  CHECK(events() == "");
  CHECK(children(sup).size() == 1);
}

TEST_CASE_FIXTURE(fixture, "exceeding the restart intensity escalates") {
  auto spec = make_spec(restart_strategy::one_for_one,
                        {worker_child("a", recorder()), worker_child("b", recorder())});
  spec.intensity = restart_intensity{2, 10s};
  auto sup = spawn_supervisor(spec);
  events();
  for (int i = 0; i < 2; ++i) {
    self->send(child(sup, "b"), crash_atom::value);
    run();
    advance(1s);
  }
  CHECK(events() == "start:b start:b");
  CHECK_FALSE(down());
  self->send(child(sup, "b"), crash_atom::value); // the third within 10 s
  run();
  // The supervisor stops the remaining children in reverse order and exits.
  CHECK(events() == "stop:a");
  auto d = down();
  REQUIRE(d);
  CHECK(d->reason.category() == error_category);
  CHECK(d->reason.code() == static_cast<std::uint8_t>(errc::restart_intensity_exceeded));
}

TEST_CASE_FIXTURE(fixture, "restarts spread beyond the intensity period do not escalate") {
  auto spec = make_spec(restart_strategy::one_for_one, {worker_child("a", recorder())});
  spec.intensity = restart_intensity{2, 10s};
  auto sup = spawn_supervisor(spec);
  events();
  for (int i = 0; i < 6; ++i) {
    self->send(child(sup, "a"), crash_atom::value);
    run();
    advance(6s);
  }
  CHECK(events() == "start:a start:a start:a start:a start:a start:a");
  CHECK_FALSE(down());
}

TEST_CASE_FIXTURE(fixture, "restart backoff delays the restart on the actor clock") {
  auto spec = make_spec(restart_strategy::one_for_one, {worker_child("a", recorder())});
  spec.backoff = restart_backoff{1s, 2.0, 10s};
  auto sup = spawn_supervisor(spec);
  events();
  self->send(child(sup, "a"), crash_atom::value);
  run();
  CHECK(events() == "");
  CHECK_FALSE(child(sup, "a"));
  advance(999ms);
  CHECK(events() == "");
  advance(1ms);
  CHECK(events() == "start:a");
  // The second restart within the period waits twice as long.
  self->send(child(sup, "a"), crash_atom::value);
  run();
  advance(1s);
  CHECK(events() == "");
  advance(1s);
  CHECK(events() == "start:a");
}

TEST_CASE_FIXTURE(fixture, "a nested supervisor that gives up is restarted by its parent") {
  auto inner = make_spec(restart_strategy::one_for_one, {worker_child("x", recorder())});
  inner.name = "inner";
  inner.intensity = restart_intensity{0, 10s}; // gives up at the first failure
  auto outer = make_spec(restart_strategy::one_for_one,
                         {worker_child("a", recorder()), supervisor_child(inner)});
  auto sup = spawn_supervisor(outer);
  CHECK(events() == "start:a start:x");
  auto inner_handle = caf::actor_cast<supervisor_actor>(child(sup, "inner"));
  REQUIRE(inner_handle);
  auto x = request<caf::actor>(inner_handle, whereis_atom::value, std::string{"x"});
  REQUIRE(x);
  self->send(*x, crash_atom::value);
  run();
  // The inner supervisor escalated; the outer one restarted it, which started x again.
  CHECK(events() == "start:x");
  auto kids = children(sup);
  REQUIRE(kids.size() == 2);
  CHECK(kids[1].name == "inner");
  CHECK(kids[1].restarts == 1);
  CHECK(kids[1].handle != caf::actor_cast<caf::actor>(inner_handle));
}

TEST_CASE_FIXTURE(fixture, "the tree shuts down in reverse start order") {
  auto inner = make_spec(restart_strategy::one_for_one,
                         {worker_child("d", recorder()), worker_child("e", recorder())});
  inner.name = "inner";
  auto outer = make_spec(
      restart_strategy::one_for_one,
      {worker_child("a", recorder()), supervisor_child(inner), worker_child("c", recorder())});
  auto sup = spawn_supervisor(outer);
  // Children are spawned in start order; each initializes on its own schedule (messages sent to
  // it meanwhile wait in its mailbox), so the reports arrive in the scheduler's order.
  CHECK(events() == "start:a start:c start:d start:e");
  std::string order;
  for (auto& c : children(sup))
    order += c.name + " ";
  CHECK(order == "a inner c ");
  self->send_exit(sup, caf::exit_reason::user_shutdown);
  run();
  CHECK(events() == "stop:c stop:e stop:d stop:a");
  auto d = down();
  REQUIRE(d);
  CHECK(d->reason == caf::exit_reason::user_shutdown);
}

TEST_CASE_FIXTURE(fixture, "a child that ignores the stop request is killed at its deadline") {
  auto spec = make_spec(restart_strategy::one_for_one,
                        {worker_child("a", recorder()),
                         worker_child("stubborn", recorder(), restart_type::permanent, true)});
  spec.children[1].shutdown_timeout = 3s;
  auto sup = spawn_supervisor(spec);
  events();
  self->send_exit(sup, caf::exit_reason::user_shutdown);
  run();
  CHECK(events() == ""); // a waits until the stubborn child is gone
  CHECK_FALSE(down());
  advance(3s);
  CHECK(events() == "stop:a");
  CHECK(down());
}

TEST_CASE_FIXTURE(fixture, "a child that fails to start fails its supervisor's start") {
  child_spec broken;
  broken.name = "broken";
  broken.start = [](caf::actor_system&, const supervisor_actor&) -> caf::expected<caf::actor> {
    return make_error(errc::bind_failed, "cannot bind 127.0.0.1:1");
  };
  auto sup = spawn_supervisor(
      make_spec(restart_strategy::one_for_one,
                {worker_child("a", recorder()), broken, worker_child("c", recorder())}));
  CHECK(events() == "start:a stop:a");
  auto d = down();
  REQUIRE(d);
  CHECK(d->reason.code() == static_cast<std::uint8_t>(errc::child_start_failed));
  CHECK(render_error(d->reason).find("cannot bind 127.0.0.1:1") != std::string::npos);
}

TEST_CASE_FIXTURE(fixture, "restart events reach the root's observer") {
  auto spec = make_spec(restart_strategy::one_for_one, {worker_child("a", recorder())});
  // The observer: a child that forwards every supervision event to the test.
  child_spec observer;
  observer.name = "observer";
  auto test_self = recorder();
  observer.start = [test_self](caf::actor_system& sys,
                               const supervisor_actor&) -> caf::expected<caf::actor> {
    // The recorder travels as a spawn argument: CAF 0.17 dereferences a null pointer when a
    // function-based actor is spawned without any (UBSan reports it in the asan preset).
    return sys.spawn(
        [](caf::event_based_actor* self, caf::actor recorder) -> caf::behavior {
          return {[self, recorder](const supervision_event& ev) { self->send(recorder, ev); }};
        },
        test_self);
  };
  spec.children.insert(spec.children.begin(), observer);
  spec.event_observer = "observer";
  auto sup = spawn_supervisor(spec);
  events();
  inbox<supervision_event>();
  self->send(child(sup, "a"), crash_atom::value);
  run();
  auto evs = inbox<supervision_event>();
  REQUIRE(evs.size() == 1);
  CHECK(evs[0].kind == supervision_event_kind::restarted);
  CHECK(evs[0].child == "a");
  CHECK(evs[0].supervisor == "test");
}
