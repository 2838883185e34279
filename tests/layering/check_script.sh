#!/bin/sh
# tools/check-layers.py passes on the source tree and fails on a copy of it with one upward
# include added (messages/ including runtime/chain), naming the file, the line and the layers.
# Usage: check_script.sh SOURCE_DIR
set -u
src=$1
python3 "$src/tools/check-layers.py" --root "$src" || { echo "FAIL: the source tree has violations"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cp "$src/CMakeLists.txt" "$tmp/"
for d in messages runtime actors tools; do cp -r "$src/$d" "$tmp/$d"; done
lines=$(wc -l < "$tmp/messages/field.hpp")
echo '#include "runtime/chain/pow.hpp"' >> "$tmp/messages/field.hpp"
out=$(python3 "$tmp/tools/check-layers.py" --root "$tmp"); status=$?
echo "$out"
[ $status -eq 1 ] || { echo "FAIL: exit $status for an upward include, not 1"; exit 1; }
echo "$out" | grep -q "^messages/field.hpp:$((lines + 1)): includes runtime/chain/pow.hpp (layer qtc_runtime_chain) from layer qtc_messages" \
  || { echo "FAIL: the violation is not named"; exit 1; }
echo "ok: the check passes on the tree and names an upward include"
