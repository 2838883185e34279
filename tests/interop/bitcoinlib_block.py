#!/usr/bin/python3
"""Independent cross-check of the node's block codec with python-bitcoinlib (Debian's package).

  bitcoinlib_block.py decode FILE   FILE holds one hex block; prints JSON: hash, merkle roots,
                                    txids and the block re-serialized by bitcoinlib
  bitcoinlib_block.py make          builds a block with several transactions; prints JSON: hex,
                                    hash, merkle root and txids
"""
import json
import sys

from bitcoin.core import (CBlock, CMutableTransaction, CMutableTxIn, CMutableTxOut, COutPoint,
                          CTransaction, Hash, b2lx, b2x, x)
from bitcoin.core.script import CScript


def decode(path):
    with open(path) as f:
        raw = x(f.read().strip())
    block = CBlock.deserialize(raw)
    print(json.dumps({
        "hash": b2lx(block.GetHash()),
        "merkle_root": b2lx(block.hashMerkleRoot),
        "computed_merkle_root": b2lx(block.calc_merkle_root()),
        "txids": [b2lx(tx.GetTxid()) for tx in block.vtx],
        "reserialized": b2x(block.serialize()),
    }))


def make():
    coinbase = CMutableTransaction(
        [CMutableTxIn(COutPoint(), CScript([b"\x01\x02", b"made by python-bitcoinlib"]), 0xffffffff)],
        [CMutableTxOut(5000000000, CScript([b"\x21" * 33, 0xac]))])
    txs = [CTransaction.from_tx(coinbase)]
    for i in range(4):
        ins = [CMutableTxIn(COutPoint(Hash(bytes([i, j])), j), CScript([bytes([j]) * (20 + i)]), 0xfffffffe)
               for j in range(1 + i % 3)]
        outs = [CMutableTxOut(1000 * (k + 1) + i, CScript([0x76, 0xa9, bytes([k]) * 20, 0x88, 0xac]))
                for k in range(1 + (i + 1) % 3)]
        txs.append(CTransaction.from_tx(CMutableTransaction(ins, outs, nLockTime=i, nVersion=2)))
    probe = CBlock(nVersion=0x20000000, hashPrevBlock=Hash(b"parent"), nTime=1735690000,
                   nBits=0x207fffff, nNonce=7, vtx=txs)
    block = CBlock(nVersion=probe.nVersion, hashPrevBlock=probe.hashPrevBlock,
                   hashMerkleRoot=probe.calc_merkle_root(), nTime=probe.nTime, nBits=probe.nBits,
                   nNonce=probe.nNonce, vtx=txs)
    print(json.dumps({
        "hex": b2x(block.serialize()),
        "hash": b2lx(block.GetHash()),
        "merkle_root": b2lx(block.hashMerkleRoot),
        "txids": [b2lx(tx.GetTxid()) for tx in block.vtx],
    }))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "decode":
        decode(sys.argv[2])
    elif len(sys.argv) == 2 and sys.argv[1] == "make":
        make()
    else:
        sys.exit(__doc__)
