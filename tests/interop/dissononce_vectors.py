#!/usr/bin/python3
"""Writes Noise test vectors in the cacophony JSON format, computed by python3-dissononce (an
independent implementation), for every one-way and interactive pattern with the 25519 DH and each
cipher and hash dissononce offers: 15 patterns x 2 ciphers x 4 hashes = 120 vectors, each a full
handshake followed by two transport messages. qtc-noise-vectors must reproduce all of them.

dissononce draws ephemeral keys itself; to make vectors it is given a DH object whose
generate_keypair() returns the preset ephemeral keys in turn.
"""
import json
import sys

from dissononce.dh.x25519.private import PrivateKey
from dissononce.dh.x25519.x25519 import X25519DH
from dissononce.extras.meta.cipher import MAP_CIPHER
from dissononce.extras.meta.hash import MAP_HASH
from dissononce.extras.meta.pattern import MAP_PATTERN
from dissononce.processing.impl.cipherstate import CipherState
from dissononce.processing.impl.handshakestate import HandshakeState
from dissononce.processing.impl.symmetricstate import SymmetricState

PATTERNS = ["N", "K", "X", "NN", "NK", "NX", "XN", "XK", "XX", "KN", "KK", "KX", "IN", "IK", "IX"]
INIT_STATIC = bytes(range(1, 33)).hex()
RESP_STATIC = bytes(range(33, 65)).hex()
INIT_EPHEMERAL = bytes(range(65, 97)).hex()
RESP_EPHEMERAL = bytes(range(97, 129)).hex()
PROLOGUE = b"qtc interop prologue".hex()


class PresetDH(X25519DH):
    """X25519 whose next generated key pair is a preset one."""

    def __init__(self, ephemeral_hex):
        super().__init__()
        self._next = ephemeral_hex

    def generate_keypair(self, privatekey=None):
        if privatekey is None:
            privatekey = PrivateKey(bytes.fromhex(self._next))
        return super().generate_keypair(privatekey)


def public_of(private_hex):
    return X25519DH().generate_keypair(PrivateKey(bytes.fromhex(private_hex))).public


def vector(pattern_name, cipher_name, hash_name):
    pattern = MAP_PATTERN[pattern_name]()
    one_way = len(pattern.message_patterns) == 1

    def side(initiator):
        dh = PresetDH(INIT_EPHEMERAL if initiator else RESP_EPHEMERAL)
        hs = HandshakeState(
            SymmetricState(CipherState(MAP_CIPHER[cipher_name]()), MAP_HASH[hash_name]()), dh)
        s = dh.generate_keypair(PrivateKey(bytes.fromhex(INIT_STATIC if initiator else RESP_STATIC)))
        rs = None
        if initiator and "s" in pattern.responder_pre_message_pattern:
            rs = public_of(RESP_STATIC)
        if not initiator and "s" in pattern.initiator_pre_message_pattern:
            rs = public_of(INIT_STATIC)
        hs.initialize(pattern, initiator, bytes.fromhex(PROLOGUE), s=s, rs=rs)
        return hs

    init, resp = side(True), side(False)
    v = {
        "protocol_name": "Noise_%s_25519_%s_%s" % (pattern_name, cipher_name, hash_name),
        "init_prologue": PROLOGUE, "init_static": INIT_STATIC, "init_ephemeral": INIT_EPHEMERAL,
        "resp_prologue": PROLOGUE, "resp_static": RESP_STATIC, "resp_ephemeral": RESP_EPHEMERAL,
        "messages": [],
    }
    if "s" in pattern.responder_pre_message_pattern:
        v["init_remote_static"] = public_of(RESP_STATIC).data.hex()
    if "s" in pattern.initiator_pre_message_pattern:
        v["resp_remote_static"] = public_of(INIT_STATIC).data.hex()
    init_cs = resp_cs = None
    count = len(pattern.message_patterns) + 2
    for i in range(count):
        payload = ("message %d of %s" % (i, v["protocol_name"])).encode()
        from_init = one_way or i % 2 == 0
        if init_cs is None:
            writer, reader = (init, resp) if from_init else (resp, init)
            buf = bytearray()
            w_result = writer.write_message(payload, buf)
            out = bytearray()
            r_result = reader.read_message(bytes(buf), out)
            assert bytes(out) == payload
            if w_result is not None:
                init_cs = w_result if from_init else r_result
                resp_cs = r_result if from_init else w_result
                v["handshake_hash"] = init.symmetricstate.get_handshake_hash().hex()
            ct = bytes(buf)
        else:
            sender = init_cs[0] if from_init else resp_cs[1]
            receiver = resp_cs[0] if from_init else init_cs[1]
            ct = sender.encrypt_with_ad(b"", payload)
            assert receiver.decrypt_with_ad(b"", ct) == payload
        v["messages"].append({"payload": payload.hex(), "ciphertext": ct.hex()})
    return v


def main():
    vectors = [vector(p, c, h) for p in PATTERNS for c in sorted(MAP_CIPHER) for h in sorted(MAP_HASH)]
    json.dump({"source": "python3-dissononce via tests/interop/dissononce_vectors.py",
               "vectors": vectors}, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
