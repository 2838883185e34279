// Every actor of the node measures itself: `metered<Base>` is the actor class that wraps CAF's
// handling of each message with the actor's meter (runtime/inspect/actor_meter.hpp) — the time
// it took, the slowest lately, the mailbox left behind — for the inspector's `top` and `tree`
// and the mailbox-depth gauge. CAF calls the virtual `consume` for every message an
// event-based actor takes from its mailbox (scheduled_actor::reactivate).
//
// An actor is metered when its function takes a `metered_pointer<Handle, State>` instead of
// `Handle::stateful_pointer<State>`; its meter is registered on its first message (its state,
// and so its name, exists by then) in the registry of its actor system's config
// (runtime/inspect: metered_system; node_config is one). In a system without one (unit tests
// under CAF's test coordinator) nothing is measured.
//
// Cost: reading the time-stamp counter takes ~10 ns here (measured) and a bare CAF dispatch
// ~137 ns, so two readings per message would add ~15% to it. The clock is therefore read once per
// stretch of up to 8 consecutive messages — and at the end of each scheduling round, so an
// actor that handles one message per wake-up (the usual case) is timed per message. "Slowest"
// is the slowest stretch: an upper bound on the slowest message in it, equal to it whenever
// one message dominates (the case worth finding). tools/bench/bench_actor_meter.cpp measures
// the cost against the same actor unmetered (docs/performance.md).
#pragma once

#include "runtime/inspect/actor_meter.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <cstdint>
#include <memory>
#include <string>

namespace qtc {

template <class Base>
class metered : public Base {
public:
  using Base::Base;

  /// How many messages one reading of the clock covers at most.
  static constexpr std::uint32_t stretch = 8;

  caf::invoke_message_result consume(caf::mailbox_element& x) override {
    if (!attached_)
      attach_meter();
    if (!meter_)
      return Base::consume(x);
    if (in_stretch_ == 0)
      meter_->begin(tick_clock::now());
    auto result = Base::consume(x);
    if (++in_stretch_ == stretch)
      close_stretch();
    return result;
  }

  caf::resumable::resume_result resume(caf::execution_unit* ctx, size_t max_throughput) override {
    auto result = Base::resume(ctx, max_throughput);
    // The round is over (the mailbox ran dry or the throughput limit was reached): the stretch
    // under way ends here, so an idle actor's last messages are timed to their end.
    if (in_stretch_ != 0)
      close_stretch();
    return result;
  }

  /// Names which one of many this actor is, e.g. a session's peer address.
  void set_meter_label(std::string label) {
    if (!attached_)
      attach_meter();
    if (registry_)
      registry_->set_label(this->id(), std::move(label));
  }

private:
  void close_stretch() {
    // The waiting messages CAF has taken from the inbox for this round (reading the inbox
    // itself would move messages mid-round); new arrivals count from the next round on.
    meter_->end(tick_clock::now(), in_stretch_, this->mailbox().queue().total_task_size());
    in_stretch_ = 0;
  }

  void attach_meter() {
    attached_ = true;
    auto* source = dynamic_cast<const metered_system*>(&this->home_system().config());
    if (source == nullptr || !source->meters)
      return;
    registry_ = source->meters;
    meter_ = registry_->add(this->id(), this->name());
    // Leaves the registry when it terminates (not when its last handle is gone).
    this->attach_functor([registry = registry_, id = this->id()] { registry->remove(id); });
  }

  bool attached_ = false;
  std::uint32_t in_stretch_ = 0; ///< messages handled since the stretch's clock reading
  std::shared_ptr<actor_meter_registry> registry_;
  std::shared_ptr<actor_meter> meter_;
};

/// The self pointer of a metered stateful actor with the interface `Handle`.
template <class Handle, class State>
using metered_pointer = caf::stateful_actor<State, metered<typename Handle::base>>*;

} // namespace qtc
