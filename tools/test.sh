#!/usr/bin/env bash
# The test command: sets up a Debian 12 machine (packages, Botan 3), builds, runs every libFuzzer
# target for a bounded time, then runs the whole test suite with ctest.
#   QTC_PRESET        the build for the suite: release | debug | asan (default release)
#   QTC_FUZZ_SECONDS  seconds per fuzz target (default 60; 0 skips fuzzing)
# Extra arguments go to the suite's ctest (e.g. -R supervisor, -L process).
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${QTC_PRESET:-release}
prefix=$(tools/bootstrap.sh | sed -n 's/^BOTAN_PREFIX=//p')
export QTC_BOTAN_PREFIX=$prefix
# The independent JavaScript peer's libraries, exactly as pinned in its package-lock.json.
(cd tests/interop/noble && npm ci --no-audit --no-fund --loglevel=error)
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset"
fuzz_seconds=${QTC_FUZZ_SECONDS:-60}
if [ "$fuzz_seconds" != 0 ]; then
  cmake --preset fuzz -DQTC_FUZZ_SECONDS="$fuzz_seconds" >/dev/null
  cmake --build --preset fuzz
  ctest --preset fuzz -j"$(nproc)"
fi
ctest --preset "$preset" -j"$(nproc)" "$@"
