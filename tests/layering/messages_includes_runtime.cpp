// A file compiled as part of the messages layer that includes a header of a higher layer
// (runtime/chain). The build must refuse it: tests/layering/check_build.sh expects this file to
// fail with "No such file or directory". It is never part of any real target.
#include "messages/block.hpp"
#include "runtime/chain/pow.hpp"

int qtc_layer_probe_upward() {
  return 0;
}
