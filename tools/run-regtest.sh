#!/usr/bin/env bash
# The main command: sets up a Debian 12 machine (packages, Botan 3), builds the release binary,
# and runs the node on the shipped regtest defaults (loopback only) until Ctrl-C.
# Extra arguments go to qtcnode, e.g. --qtcnode.log-level=debug.
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=$(tools/bootstrap.sh | sed -n 's/^BOTAN_PREFIX=//p')
export QTC_BOTAN_PREFIX=$prefix
cmake --preset release >/dev/null
cmake --build --preset release --target qtcnode qtc-inspect
exec build/release/tools/qtcnode --config-file=config/regtest.ini "$@"
