#!/usr/bin/env bash
# The test command: sets up a Debian 12 machine (packages, Botan 3), builds, and runs the whole
# test suite with ctest. QTC_PRESET picks the build (release | debug | asan; default release).
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${QTC_PRESET:-release}
prefix=$(tools/bootstrap.sh | sed -n 's/^BOTAN_PREFIX=//p')
export QTC_BOTAN_PREFIX=$prefix
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset"
ctest --preset "$preset" -j"$(nproc)" "$@"
