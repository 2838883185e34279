#!/usr/bin/python3
"""Independent cross-check of the node's P2P message codec with python-bitcoinlib's messages,
using the QuantumCoin magic "QTCM".

  bitcoinlib_messages.py make         prints JSON: a list of whole frames (hex) built by bitcoinlib
  bitcoinlib_messages.py roundtrip F  F holds one hex frame per line; each is parsed by bitcoinlib
                                      and serialized again; prints JSON: [{command, hex}]

python-bitcoinlib 0.11.2 writes `headers` without Bitcoin Core's per-header transaction count, so
`headers` is not part of this check.
"""
import json
import sys

import bitcoin
from bitcoin.core import (CBlock, CMutableTransaction, CMutableTxIn, CMutableTxOut, COutPoint,
                          CTransaction, Hash, b2x, x)
from bitcoin.core.script import CScript
from bitcoin.messages import (MsgSerializable, msg_addr, msg_block, msg_getaddr, msg_getblocks,
                              msg_getdata, msg_getheaders, msg_inv, msg_notfound, msg_ping,
                              msg_pong, msg_tx, msg_verack, msg_version)
from bitcoin.net import CAddress, CInv

bitcoin.SelectParams("mainnet")
bitcoin.params.MESSAGE_START = b"QTCM"


def address(ip, port, t=0):
    a = CAddress()
    a.nTime = t
    a.nServices = 1033
    a.ip = ip
    a.port = port
    return a


def make():
    version = msg_version(70015)
    version.nServices = 1033
    version.nTime = 1735690000
    version.addrTo = address("127.0.0.2", 18444)
    version.addrFrom = address("::1", 18445)
    version.nNonce = 0x1122334455667788
    version.strSubVer = b"/python-bitcoinlib:interop/"
    version.nStartingHeight = 12345
    version.fRelay = True
    ping = msg_ping()
    ping.nonce = 0xdeadbeefcafebabe
    pong = msg_pong()
    pong.nonce = 0x0102030405060708
    addr = msg_addr()
    addr.addrs = [address("10.1.2.3", 8333, 1735680000), address("2001:db8::5", 8334, 1735680001)]
    inv = msg_inv()
    for i in range(3):
        item = CInv()
        item.type = 1 + i % 2
        item.hash = Hash(bytes([i]))
        inv.inv.append(item)
    getdata = msg_getdata()
    getdata.inv = list(inv.inv)
    notfound = msg_notfound()
    notfound.inv = list(inv.inv[:1])
    getheaders = msg_getheaders(70015)
    getheaders.locator.vHave = [Hash(b"a"), Hash(b"b")]
    getheaders.hashstop = Hash(b"stop")
    getblocks = msg_getblocks(70015)
    getblocks.locator.vHave = [Hash(b"c")]
    tx = CMutableTransaction(
        [CMutableTxIn(COutPoint(Hash(b"prev"), 1), CScript([b"\x02" * 33]), 0xfffffffe)],
        [CMutableTxOut(12345, CScript([0x76, 0xa9, b"\x07" * 20, 0x88, 0xac]))], nLockTime=99)
    msgtx = msg_tx()
    msgtx.tx = CTransaction.from_tx(tx)
    coinbase = CMutableTransaction([CMutableTxIn(COutPoint(), CScript([b"\x01\x02"]), 0xffffffff)],
                                   [CMutableTxOut(5000000000, CScript([b"\x21" * 33, 0xac]))])
    txs = [CTransaction.from_tx(coinbase), CTransaction.from_tx(tx)]
    probe = CBlock(nVersion=1, nTime=1735690000, nBits=0x207fffff, nNonce=3, vtx=txs)
    blk = msg_block()
    blk.block = CBlock(nVersion=1, hashPrevBlock=Hash(b"p"), hashMerkleRoot=probe.calc_merkle_root(),
                       nTime=1735690000, nBits=0x207fffff, nNonce=3, vtx=txs)
    msgs = [version, msg_verack(), ping, pong, msg_getaddr(), addr, inv, getdata, notfound,
            getheaders, getblocks, msgtx, blk]
    print(json.dumps([b2x(m.to_bytes()) for m in msgs]))


def roundtrip(path):
    out = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            m = MsgSerializable.from_bytes(x(line))
            out.append({"command": m.command.decode(), "hex": b2x(m.to_bytes())})
    print(json.dumps(out))


if __name__ == "__main__":
    if len(sys.argv) == 2 and sys.argv[1] == "make":
        make()
    elif len(sys.argv) == 3 and sys.argv[1] == "roundtrip":
        roundtrip(sys.argv[2])
    else:
        sys.exit(__doc__)
