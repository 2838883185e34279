#!/usr/bin/python3
"""An independent Noise peer for the interop tests: python3-dissononce speaking the node's Noise
transport (docs/protocol.md, "Secure transport") over a real TCP socket.

  dissononce_peer.py --role initiator --port P ...   connects to 127.0.0.1:P
  dissononce_peer.py --role responder ...            listens on 127.0.0.1, prints "PORT <n>"

After the handshake it sends --send-bytes bytes of a fixed pattern as transport messages (at most
65519 plaintext bytes each), expects the same bytes echoed back, and prints one JSON object: its
handshake hash, the peer's static key, the peer's handshake payload and whether the echo matched.
Each direction rekeys after the number of messages announced in the handshake payloads.

dissononce's own CipherState.rekey() keeps the 16-byte tag in the new key and resets the nonce,
unlike the Noise specification (revision 34, section 5.1); this script rekeys as the
specification says: k = first 32 bytes of ENCRYPT(k, 2^64-1, "", 32 zero bytes), n unchanged.
"""
import argparse
import json
import socket
import struct
import sys

from dissononce.cipher.chachapoly import ChaChaPolyCipher
from dissononce.dh.x25519.private import PrivateKey
from dissononce.dh.x25519.x25519 import X25519DH
from dissononce.hash.blake2s import Blake2sHash
from dissononce.processing.handshakepatterns.interactive.XX import XXHandshakePattern
from dissononce.processing.impl.cipherstate import CipherState
from dissononce.processing.impl.handshakestate import HandshakeState
from dissononce.processing.impl.symmetricstate import SymmetricState

PROLOGUE_LABEL = b"qtc-p2p-noise/2"
TRANSPORT_VERSION = b"\x02"
CLASSICAL_MODE = b"\x00"  # dissononce has no ML-KEM: this peer speaks the classical mode only
MAX_PLAINTEXT = 65535 - 16


def recv_exact(sock, n):
    out = b""
    while len(out) < n:
        chunk = sock.recv(n - len(out))
        if not chunk:
            raise EOFError("peer closed the connection")
        out += chunk
    return out


def recv_frame(sock):
    (length,) = struct.unpack(">H", recv_exact(sock, 2))
    return recv_exact(sock, length)


def send_frame(sock, message):
    sock.sendall(struct.pack(">H", len(message)) + bytes(message))


def encode_payload(rekey_messages, rekey_bytes):
    # version 2, features 0 (bit 0 would claim the hybrid handshake, which this peer lacks)
    return struct.pack("<BQIQ", TRANSPORT_VERSION[0], 0, rekey_messages, rekey_bytes)


def decode_payload(data):
    version, features, messages, nbytes = struct.unpack("<BQIQ", bytes(data[:21]))
    return {"version": version, "features": features, "rekey_after_messages": messages,
            "rekey_after_bytes": nbytes}


class Direction:
    def __init__(self, cipherstate, after_messages, after_bytes):
        self.cs = cipherstate
        self.after_messages = after_messages
        self.after_bytes = after_bytes
        self.messages = 0
        self.bytes = 0
        self.rekeys = 0

    def count(self, ciphertext_len):
        self.messages += 1
        self.bytes += ciphertext_len
        if self.messages >= self.after_messages or self.bytes >= self.after_bytes:
            nonce = self.cs._nonce
            new_key = self.cs.cipher.encrypt(self.cs._key, 2**64 - 1, b"", bytes(32))[:32]
            self.cs.initialize_key(new_key)
            self.cs.set_nonce(nonce)
            self.messages = 0
            self.bytes = 0
            self.rekeys += 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--role", choices=["initiator", "responder"], required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--static-private", required=True)
    ap.add_argument("--magic", default="5154434d")
    ap.add_argument("--rekey-messages", type=int, default=10000)
    ap.add_argument("--rekey-bytes", type=int, default=1 << 30)
    ap.add_argument("--send-bytes", type=int, default=100000)
    args = ap.parse_args()

    magic = bytes.fromhex(args.magic)
    dh = X25519DH()
    static = dh.generate_keypair(PrivateKey(bytes.fromhex(args.static_private)))
    hs = HandshakeState(SymmetricState(CipherState(ChaChaPolyCipher()), Blake2sHash()), dh)
    initiator = args.role == "initiator"
    hs.initialize(XXHandshakePattern(), initiator, PROLOGUE_LABEL + magic + CLASSICAL_MODE,
                  s=static)
    mine = encode_payload(args.rekey_messages, args.rekey_bytes)

    if initiator:
        sock = socket.create_connection(("127.0.0.1", args.port), timeout=20)
    else:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        print("PORT %d" % listener.getsockname()[1], flush=True)
        listener.settimeout(20)
        sock, _ = listener.accept()
        sock.settimeout(20)

    if initiator:
        buf = bytearray(CLASSICAL_MODE)  # the first frame starts with the mode byte
        hs.write_message(magic + TRANSPORT_VERSION, buf)
        send_frame(sock, buf)
        payload = bytearray()
        hs.read_message(recv_frame(sock), payload)
        theirs = decode_payload(payload)
        buf = bytearray()
        send_cs, recv_cs = hs.write_message(mine, buf)
        send_frame(sock, buf)
    else:
        payload = bytearray()
        first = recv_frame(sock)
        if first[:1] != CLASSICAL_MODE:
            raise SystemExit("first frame's mode byte %s" % first[:1].hex())
        hs.read_message(first[1:], payload)
        if bytes(payload) != magic + TRANSPORT_VERSION:
            raise SystemExit("message 1 payload %s" % bytes(payload).hex())
        buf = bytearray()
        hs.write_message(mine, buf)
        send_frame(sock, buf)
        payload = bytearray()
        recv_cs, send_cs = hs.read_message(recv_frame(sock), payload)
        theirs = decode_payload(payload)

    send = Direction(send_cs, args.rekey_messages, args.rekey_bytes)
    receive = Direction(recv_cs, theirs["rekey_after_messages"], theirs["rekey_after_bytes"])
    data = bytes((i * 7) % 251 for i in range(args.send_bytes))
    for off in range(0, len(data), MAX_PLAINTEXT):
        ct = send.cs.encrypt_with_ad(b"", data[off:off + MAX_PLAINTEXT])
        send_frame(sock, ct)
        send.count(len(ct))
    echoed = b""
    while len(echoed) < len(data):
        ct = recv_frame(sock)
        echoed += receive.cs.decrypt_with_ad(b"", ct)
        receive.count(len(ct))
    sock.close()
    print(json.dumps({
        "handshake_hash": hs.symmetricstate.get_handshake_hash().hex(),
        "remote_static": hs.rs.data.hex(),
        "peer_payload": theirs,
        "echo_ok": echoed == data,
        "rekeys_sent": send.rekeys,
        "rekeys_received": receive.rekeys,
    }), flush=True)


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # report, don't hang: the test reads stdout and the exit code
        print("dissononce_peer: %s: %s" % (type(e).__name__, e), file=sys.stderr, flush=True)
        sys.exit(1)
