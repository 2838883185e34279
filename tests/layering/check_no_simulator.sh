#!/bin/sh
# The simulator is not part of the node: no symbol of actors/simulation (memory_network,
# simulated_node) in the qtcnode binary, while the test binary, which links it, has them (so the
# pattern is known to match).
# Usage: check_no_simulator.sh QTCNODE TEST_BINARY
set -u
pattern='qtc::(memory_network|memory_link|make_simulated_node)'
in_node=$(nm -C "$1" | grep -cE "$pattern")
in_tests=$(nm -C "$2" | grep -cE "$pattern")
echo "simulator symbols: $in_node in $(basename "$1"), $in_tests in $(basename "$2")"
[ "$in_tests" -gt 0 ] || { echo "FAIL: the pattern matches nothing even where the simulator is linked"; exit 1; }
[ "$in_node" -eq 0 ] || { nm -C "$1" | grep -E "$pattern" | head; echo "FAIL: simulator code in the node"; exit 1; }
echo "ok"
