#!/bin/sh
# The build enforces the layers: a file of the runtime/chain layer including lower layers compiles;
# a file of the messages layer including runtime/chain does not ("No such file or directory").
# Usage: check_build.sh BUILD_DIR
set -u
build=$1
if ! cmake --build "$build" --target qtc_layer_probe_downward >/tmp/qtc-layer-probe.$$ 2>&1; then
  cat /tmp/qtc-layer-probe.$$; rm -f /tmp/qtc-layer-probe.$$
  echo "FAIL: the downward probe (runtime/chain including messages) does not build"
  exit 1
fi
cmake --build "$build" --target qtc_layer_probe_upward >/tmp/qtc-layer-probe.$$ 2>&1
status=$?
out=$(cat /tmp/qtc-layer-probe.$$); rm -f /tmp/qtc-layer-probe.$$
echo "$out" | grep -E 'runtime/chain/pow.hpp|error' | head -5
if [ $status -eq 0 ]; then
  echo "FAIL: the messages layer compiled an include of runtime/chain"
  exit 1
fi
if ! echo "$out" | grep -q 'runtime/chain/pow.hpp: No such file or directory'; then
  echo "FAIL: the upward probe failed for another reason"
  exit 1
fi
echo "ok: the build refuses an upward include and accepts a downward one"
