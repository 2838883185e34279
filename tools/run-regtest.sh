#!/usr/bin/env bash
# The main command: sets up a Debian 12 machine (packages, Botan 3), builds the release binaries,
# and demonstrates the node's mission offline, on loopback addresses only:
#
#   1. a regtest chain of QTC_DEMO_BLOCKS blocks (default 10,000) is generated once;
#   2. four serving nodes hold it, on 127.0.0.11-14;
#   3. a real DNS server (dnsmasq, 127.0.0.1:15353) answers the chain spec's seed names:
#      seed1 A -> .11 and .12, seed2 SRV -> node3 (.13), seed2 TXT -> .14;
#   4. qtc-network-test checks that network (seeds, handshakes, QuantumProof, headers) and
#      prints its table and verdict;
#   5. a fresh node (127.0.0.20, empty data directory) that knows only the chain spec and the
#      resolver's address finds the serving nodes through DNS, connects over Noise and syncs
#      from zero, printing progress lines;
#   6. it keeps running with metrics on http://127.0.0.1:19333/metrics, health checks on /health
#      and /ready there, the JSON-RPC server on 18443 (an example call is printed and run), and
#      the inspector on port 19334 (the line to attach `qtc-inspect ... top` is printed) until
#      Ctrl-C, which stops everything.
#
# Extra arguments go to the fresh node's qtcnode, e.g. --qtcnode.log-level=debug.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
prefix=$(tools/bootstrap.sh | sed -n 's/^BOTAN_PREFIX=//p')
export QTC_BOTAN_PREFIX=$prefix
cmake --preset release >/dev/null
cmake --build --preset release --target qtcnode qtc-inspect qtc-chaingen qtc-network-test

bin=$root/build/release/tools
demo=$root/.data/regtest-demo
blocks=${QTC_DEMO_BLOCKS:-10000}
dns_port=15353
spec=$root/config/regtest.toml
mkdir -p "$demo"

log() { printf '[run-regtest] %s\n' "$*" >&2; }

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# 1. The chain (kept between runs: the same spec and seed always give the same blocks).
if [ ! -f "$demo/chain-$blocks/done" ]; then
  log "generating a regtest chain of $blocks blocks"
  rm -rf "$demo/chain-$blocks"
  "$bin/qtc-chaingen" --chain-spec="$spec" --blocks="$blocks" --txs=2 --data-dir="$demo/chain-$blocks" >&2
  touch "$demo/chain-$blocks/done"
fi

# 2. DNS: the seed names of config/regtest.toml.
log "starting dnsmasq on 127.0.0.1:$dns_port for the seed names"
/usr/sbin/dnsmasq --keep-in-foreground --no-resolv --no-hosts --port=$dns_port \
  --listen-address=127.0.0.1 --bind-interfaces --local=/quantumcoin.test/ --local-ttl=60 \
  --host-record=seed1.regtest.quantumcoin.test,127.0.0.11 \
  --host-record=seed1.regtest.quantumcoin.test,127.0.0.12 \
  --host-record=node3.regtest.quantumcoin.test,127.0.0.13 \
  --srv-host=seed2.regtest.quantumcoin.test,node3.regtest.quantumcoin.test,18444 \
  --txt-record=seed2.regtest.quantumcoin.test,127.0.0.14:18444 \
  --log-facility="$demo/dnsmasq.log" &
pids+=($!)

# 3. Serving nodes: each starts from a copy of the chain (own identity, own directory).
for i in 1 2 3 4; do
  dir=$demo/serving$i
  if [ ! -d "$dir/chain" ]; then
    mkdir -p "$dir"
    cp -r "$demo/chain-$blocks/chain" "$dir/chain"
  fi
  "$bin/qtcnode" --qtcnode.node-name="serving$i" --qtcnode.chain-spec="$spec" \
    --qtcnode.data-dir="$dir" --qtcnode.p2p-host="127.0.0.1$i" --qtcnode.p2p-port=18444 \
    --qtcnode.metrics-port=-1 --qtcnode.rpc-port=0 --qtcnode.dns-servers=127.0.0.1:$dns_port \
    --qtcnode.outbound-full-relay=0 --qtcnode.outbound-block-relay=0 \
    --scheduler.max-threads=1 >"$demo/serving$i.log" 2>&1 &
  pids+=($!)
done
log "serving nodes on 127.0.0.11-14:18444 (logs in $demo/serving*.log)"
for i in 1 2 3 4; do
  for _ in $(seq 300); do grep -q 'msg="node running"' "$demo/serving$i.log" 2>/dev/null && break; sleep 0.1; done
done

# 4. The seed's network test: the network just started, as an operator checks a deployment (DNS
#    seeds, every serving node over Noise hybrid and TLS with QuantumProof, headers checked).
log "network test: $bin/qtc-network-test --chain-spec=$spec --dns-servers=127.0.0.1:$dns_port"
verdict=0
"$bin/qtc-network-test" --chain-spec="$spec" --dns-servers=127.0.0.1:$dns_port >&2 || verdict=$?
log "network test exit code $verdict (0 healthy, 1 degraded)"

# 5. The fresh node, from zero, in the foreground.
rm -rf "$demo/fresh"
log "fresh node's operator interface: health http://127.0.0.1:19333/health and /ready," \
  "metrics http://127.0.0.1:19333/metrics"
log "live view (another terminal): $bin/qtc-inspect --port=19334 --data-dir=$demo/fresh top" \
  "(q quits; also: tree, peers, sync, bans, log --follow, restart CHILD, disconnect PEER)"
log "starting a fresh node that knows only the chain spec and the resolver (Ctrl-C stops all)"
"$bin/qtcnode" --config-file=config/regtest.ini --qtcnode.node-name=fresh \
  --qtcnode.data-dir="$demo/fresh" --qtcnode.p2p-host=127.0.0.20 --qtcnode.p2p-port=18444 \
  --qtcnode.dns-servers=127.0.0.1:$dns_port "$@" &
fresh=$!
pids+=($fresh)
# Once its JSON-RPC server is up (port 18443, regtest's default) and has written the cookie: an
# example call, printed and run.
(
  for _ in $(seq 100); do [ -f "$demo/fresh/.cookie" ] && break; sleep 0.1; done
  call="curl -s --user \"\$(cat $demo/fresh/.cookie)\" -H 'Content-Type: application/json' --data-binary '{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"getblockchaininfo\"}' http://127.0.0.1:18443/"
  log "example RPC call: $call"
  eval "$call" || true
) &
wait "$fresh"
