// The control for messages_includes_runtime.cpp: a file compiled as part of the runtime/chain
// layer that includes the layers below it. It must compile, so that the upward probe's failure is
// the layering and not a broken probe.
#include "messages/block.hpp"
#include "messages/primitives/hash.hpp"
#include "runtime/chain/pow.hpp"

int qtc_layer_probe_downward() {
  return 0;
}
