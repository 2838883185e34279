#!/usr/bin/python3
"""Calls every RPC method of a running qtcnode with python-bitcoinlib's bitcoin.rpc.RawProxy
(Debian's python3-bitcoinlib): a client written for bitcoind, not by this project.

Usage: bitcoinlib_rpc.py URL   (http://user:password@127.0.0.1:PORT)
Prints one line per method, "ok METHOD RESULT" or "FAIL METHOD WHY", and exits 1 on any failure.
"""
import json
import sys

import bitcoin.rpc

failures = 0


def check(method, condition, result):
    global failures
    if condition:
        print("ok", method, json.dumps(result, default=str)[:200])
    else:
        failures += 1
        print("FAIL", method, json.dumps(result, default=str)[:400])


def error_code(call):
    """The JSON-RPC error code a call raised (bitcoinlib raises JSONRPCError)."""
    try:
        call()
    except bitcoin.rpc.JSONRPCError as e:
        return e.error.get("code")
    return None


proxy = bitcoin.rpc.RawProxy(service_url=sys.argv[1])
info = proxy.getblockchaininfo()
check("getblockchaininfo", info["chain"] == "regtest" and "bestblockhash" in info, info)
count = proxy.getblockcount()
check("getblockcount", count == info["blocks"], count)
best = proxy.getbestblockhash()
check("getbestblockhash", best == info["bestblockhash"], best)
tip_hash = proxy.getblockhash(count)
check("getblockhash", tip_hash == best, tip_hash)
header = proxy.getblockheader(best)
check("getblockheader", header["hash"] == best and header["height"] == count
      and header["confirmations"] == 1, header)
header_hex = proxy.getblockheader(best, False)
check("getblockheader verbose=false", len(header_hex) == 160, header_hex)
block = proxy.getblock(best)
check("getblock verbosity 1", block["hash"] == best and len(block["tx"]) == block["nTx"] >= 1,
      block)
raw = proxy.getblock(best, 0)
check("getblock verbosity 0", raw.startswith(header_hex), raw[:200])
genesis = proxy.getblockhash(0)
first = proxy.getblockheader(genesis)
check("getblockheader of genesis", "previousblockhash" not in first
      and (count == 0 or first["nextblockhash"] == proxy.getblockhash(1)), first)
check("submitblock of a stored block", proxy.submitblock(raw) in ("duplicate", "inconclusive"),
      None)
check("submitblock of garbage", error_code(lambda: proxy.submitblock("00")) == -22, None)
network = proxy.getnetworkinfo()
check("getnetworkinfo", network["subversion"].startswith("/qtcnode:")
      and network["protocolversion"] > 0, network)
peers = proxy.getpeerinfo()
check("getpeerinfo", isinstance(peers, list), peers)
connections = proxy.getconnectioncount()
check("getconnectioncount", connections == len(peers), connections)
totals = proxy.getnettotals()
check("getnettotals", "totalbytesrecv" in totals and "uploadtarget" in totals, totals)
check("setban", proxy.setban("192.0.2.0/24", "add", 3600) is None, None)
banned = proxy.listbanned()
check("listbanned", [b["address"] for b in banned] == ["192.0.2.0/24"]
      and 0 < banned[0]["time_remaining"] <= 3600, banned)
check("setban remove", proxy.setban("192.0.2.0/24", "remove") is None, None)
check("setban remove again", error_code(lambda: proxy.setban("192.0.2.0/24", "remove")) == -30,
      None)
check("setban of nonsense", error_code(lambda: proxy.setban("not-an-ip", "add")) == -30, None)
proxy.setban("198.51.100.7", "add")
check("clearbanned", proxy.clearbanned() is None and proxy.listbanned() == [], None)
check("addnode add", proxy.addnode("127.0.0.1:1", "add") is None, None)
check("addnode add twice", error_code(lambda: proxy.addnode("127.0.0.1:1", "add")) == -23, None)
check("addnode remove", proxy.addnode("127.0.0.1:1", "remove") is None, None)
check("addnode remove again", error_code(lambda: proxy.addnode("127.0.0.1:1", "remove")) == -24,
      None)
check("addnode onetry", proxy.addnode("127.0.0.1:2", "onetry") is None, None)
check("disconnectnode of no peer",
      error_code(lambda: proxy.disconnectnode("127.0.0.1:9")) == -29, None)
check("disconnectnode without target", error_code(lambda: proxy.disconnectnode()) == -8, None)
check("ping", proxy.ping() is None, None)
uptime = proxy.uptime()
check("uptime", isinstance(uptime, int) and uptime >= 0, uptime)
overview = proxy.help()
check("help", all(m in overview for m in ("getblock ", "submitblock", "stop")), overview)
check("help getblockhash", proxy.help("getblockhash").startswith("getblockhash \"height\""), None)
check("unknown method", error_code(lambda: proxy.getwalletinfo()) == -32601, None)
check("wrong parameter type", error_code(lambda: proxy.getblockhash("x")) == -3, None)
check("missing parameter", error_code(lambda: proxy.getblockhash()) == -1, None)
check("height out of range", error_code(lambda: proxy.getblockhash(count + 1)) == -8, None)
check("unknown block", error_code(lambda: proxy.getblock("00" * 32)) == -5, None)
check("malformed block hash", error_code(lambda: proxy.getblock("xyz")) == -8, None)
if len(sys.argv) > 2 and sys.argv[2] == "--stop":
    check("stop", proxy.stop() == "QuantumCoin server stopping", None)
print(f"{failures} failed")
sys.exit(1 if failures else 0)
