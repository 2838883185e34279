// The typed broker type that implements a typed actor interface.
#pragma once

#include <caf/io/typed_broker.hpp>
#include <caf/typed_actor.hpp>

namespace qtc {

template <class Handle>
struct broker_of;

template <class... Sigs>
struct broker_of<caf::typed_actor<Sigs...>> {
  using type = caf::io::typed_broker<Sigs...>;
};

template <class Handle>
using broker_of_t = typename broker_of<Handle>::type;

} // namespace qtc
