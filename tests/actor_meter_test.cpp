// Per-actor meters (runtime/inspect/actor_meter) in explicit time: handled counts, the rate and
// the slowest handling over the 2-second windows, idleness, a message still being handled; the
// registry; and metered<> actors in a real actor system (actors/support/metered.hpp): every
// message counted under the actor's name and label, the entry gone when the actor is.
// The inspector's access rules (runtime/inspect/inspector_access).
#include "actors/support/metered.hpp"
#include "messages/atoms.hpp"
#include "runtime/inspect/actor_meter.hpp"
#include "runtime/inspect/inspector_access.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/typed_actor.hpp>
#include <doctest/doctest.h>

#include <thread>

using namespace qtc;

namespace {

constexpr meter_ns ms = 1'000'000;
constexpr meter_ns t0 = 1'000'000 * ms; // any time > 0

/// Handles one message that takes `took` at `at`.
void handle(actor_meter& m, meter_ns at, meter_ns took, std::uint64_t mailbox = 0) {
  m.begin(at);
  m.end(at + took, 1, mailbox);
}

} // namespace

TEST_SUITE("inspect") {

  TEST_CASE("meter: counts, busy time and the mailbox left behind") {
    actor_meter m;
    handle(m, t0, 3 * ms, 5);
    handle(m, t0 + 10 * ms, 1 * ms, 2);
    auto load = m.read(t0 + 20 * ms);
    CHECK(load.handled == 2);
    CHECK(load.busy_ns == 4 * ms);
    CHECK(load.mailbox == 2);
    CHECK(load.handling_for_ns == 0);
  }

  TEST_CASE("meter: rate and slowest describe the last complete 2 s window") {
    actor_meter m;
    // First window [t0, t0+2s): 10 messages, the slowest 7 ms.
    for (int i = 0; i < 10; ++i)
      handle(m, t0 + i * 100 * ms, i == 4 ? 7 * ms : 1 * ms);
    // Inside the first window nothing is complete yet: only the slowest so far shows.
    auto early = m.read(t0 + 1500 * ms);
    CHECK(early.rate == 0);
    CHECK(early.slowest_ns == 7 * ms);
    // After it (no message since): the window is complete.
    auto after = m.read(t0 + 2500 * ms);
    CHECK(after.rate == doctest::Approx(5.0)); // 10 messages in 2 s
    CHECK(after.slowest_ns == 7 * ms);
    // A message in the second window rolls the first into "previous".
    handle(m, t0 + 2600 * ms, 2 * ms);
    auto second = m.read(t0 + 2700 * ms);
    CHECK(second.rate == doctest::Approx(5.0));
    CHECK(second.slowest_ns == 7 * ms);
    // Two windows later without a message: idle.
    auto idle = m.read(t0 + 6100 * ms);
    CHECK(idle.rate == 0);
    CHECK(idle.slowest_ns == 0);
    CHECK(idle.handled == 11);
  }

  TEST_CASE("meter: a stretch of messages timed together counts each and slowest as one") {
    actor_meter m;
    m.begin(t0);
    m.end(t0 + 8 * ms, 8, 3);
    auto load = m.read(t0 + 2100 * ms);
    CHECK(load.handled == 8);
    CHECK(load.rate == doctest::Approx(4.0));
    CHECK(load.slowest_ns == 8 * ms);
    CHECK(load.mailbox == 3);
  }

  TEST_CASE("meter: after a long pause the old figures are gone") {
    actor_meter m;
    handle(m, t0, 50 * ms);
    handle(m, t0 + 60'000 * ms, 1 * ms);
    auto load = m.read(t0 + 60'010 * ms);
    CHECK(load.slowest_ns == 1 * ms);
    CHECK(load.rate == 0);
  }

  TEST_CASE("meter: a message still being handled shows how long it has taken") {
    actor_meter m;
    handle(m, t0, 1 * ms);
    m.begin(t0 + 100 * ms);
    auto load = m.read(t0 + 900 * ms);
    CHECK(load.handling_for_ns == 800 * ms);
    CHECK(load.slowest_ns == 800 * ms);
    m.end(t0 + 1000 * ms, 1, 0);
    CHECK(m.read(t0 + 1100 * ms).handling_for_ns == 0);
    CHECK(m.read(t0 + 1100 * ms).slowest_ns == 900 * ms);
  }

  TEST_CASE("meter registry: add, label, read, remove") {
    actor_meter_registry r;
    auto a = r.add(7, "sync");
    auto b = r.add(9, "peer_session");
    r.set_label(9, "#3 127.0.0.1:18444 outbound");
    handle(*a, t0, 1 * ms);
    auto all = r.read(t0 + ms);
    REQUIRE(all.size() == 2);
    CHECK(all[0].id == 7);
    CHECK(all[0].name == "sync");
    CHECK(all[0].load.handled == 1);
    CHECK(all[1].label == "#3 127.0.0.1:18444 outbound");
    metered_actor_info one;
    CHECK(r.read_one(9, t0, one));
    CHECK(one.name == "peer_session");
    r.remove(7);
    CHECK(r.size() == 1);
    CHECK(!r.read_one(7, t0, one));
  }

  TEST_CASE("tick clock: monotonic and in nanoseconds") {
    auto a = tick_clock::now();
    auto s0 = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
    auto b = tick_clock::now();
    auto elapsed =
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - s0)
            .count();
    CHECK(b > a);
    // Within 10% (and 2 ms) of steady_clock over the same 20 ms.
    CHECK(static_cast<double>(b - a) == doctest::Approx(static_cast<double>(elapsed)).epsilon(0.1));
  }

  TEST_CASE("inspector access: loopback reads are open, actions and non-loopback reads need "
            "the cookie") {
    inspector_access local{"abc123", true};
    CHECK(local.allows(inspector_request::read, ""));
    CHECK(!local.allows(inspector_request::action, ""));
    CHECK(!local.allows(inspector_request::action, "abc124"));
    CHECK(!local.allows(inspector_request::action, "abc12"));
    CHECK(local.allows(inspector_request::action, "abc123"));
    inspector_access remote{"abc123", false};
    CHECK(!remote.allows(inspector_request::read, ""));
    CHECK(remote.allows(inspector_request::read, "abc123"));
    inspector_access without{"", true};
    CHECK(!without.allows(inspector_request::action, ""));
    CHECK(is_loopback_host("127.0.0.1"));
    CHECK(is_loopback_host("127.1.2.3"));
    CHECK(is_loopback_host("::1"));
    CHECK(is_loopback_host("localhost"));
    CHECK(!is_loopback_host("0.0.0.0"));
    CHECK(!is_loopback_host("192.0.2.1"));
    CHECK(!is_loopback_host("::"));
    auto c = make_inspector_cookie();
    CHECK(c.size() == 64);
    CHECK(c != make_inspector_cookie());
  }
}

namespace {

using echo_actor = caf::typed_actor<caf::replies_to<get_atom, int>::with<int>>;

struct echo_state {
  static inline const char* name = "echo";
};

echo_actor::behavior_type echo(metered_pointer<echo_actor, echo_state> self) {
  self->set_meter_label("the one");
  return {[](get_atom, int x) { return x; }};
}

struct metered_config : caf::actor_system_config, metered_system {};

} // namespace

TEST_SUITE("inspect") {

  TEST_CASE("metered actors count every message under their name, and leave when they stop") {
    metered_config cfg;
    caf::actor_system sys{cfg};
    auto meters = cfg.meters;
    auto actor = sys.spawn(echo);
    {
      caf::scoped_actor self{sys};
      for (int i = 0; i < 100; ++i)
        self->request(actor, caf::infinite, get_atom::value, i)
            .receive([](int) {}, [](caf::error&) {});
    }
    // The meter counts a message once its handler returned, which may be just after the reply
    // reached us.
    auto all = meters->read(tick_clock::now());
    for (int i = 0; i < 200 && (all.size() != 1 || all[0].load.handled < 100); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds{5});
      all = meters->read(tick_clock::now());
    }
    REQUIRE(all.size() == 1);
    CHECK(all[0].name == "echo");
    CHECK(all[0].label == "the one");
    CHECK(all[0].id == actor.id());
    CHECK(all[0].load.handled == 100);
    CHECK(all[0].load.busy_ns > 0);
    caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
    for (int i = 0; i < 200 && meters->size() != 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds{5});
    CHECK(meters->size() == 0);
  }
}
