// The node's Noise transport, from docs/protocol.md "Secure transport" -> "Noise" only: 2-byte
// big-endian framing, the mode byte, the prologue, refusal frames, the handshake payload, and
// transport messages with rekeying by the sender's announced limits. The Noise state machine
// itself is noise.mjs (HandshakeState, CipherState).

import { HandshakeState } from './noise.mjs';
import { Writer, Reader, concatBytes, utf8ToBytes, bytesToHex } from './p2p.mjs';

export const MODE_CLASSICAL = 0x00;
export const MODE_HYBRID = 0x01;
export const TRANSPORT_VERSION = 0x02;
export const PROTOCOL_NAMES = {
  [MODE_HYBRID]: 'Noise_XXhfs_25519+MLKEM768_ChaChaPoly_BLAKE2s',
  [MODE_CLASSICAL]: 'Noise_XX_25519_ChaChaPoly_BLAKE2s',
};
/** Frame 1 content sizes (mode byte included). */
const FIRST_FRAME_LEN = { [MODE_HYBRID]: 1 + 32 + 1184 + 5, [MODE_CLASSICAL]: 1 + 32 + 5 };
const MAX_PLAINTEXT = 65535 - 16;
const EMPTY = new Uint8Array(0);

/** An error with a typed reason (the doc's transport error names where they apply). */
export class PeerError extends Error {
  constructor(reason, detail = '', extra = {}) {
    super(detail ? `${reason}: ${detail}` : reason);
    this.reason = reason;
    this.extra = extra;
  }
}

/** Buffered reads of exact byte counts from a net.Socket. */
export class SocketStream {
  constructor(sock) {
    this.sock = sock;
    this.buf = new Uint8Array(0);
    this.received = 0;
    this.ended = false;
    this.wake = null;
    sock.on('data', (d) => {
      this.buf = concatBytes(this.buf, new Uint8Array(d));
      this.received += d.length;
      this.notify();
    });
    const end = (err) => {
      this.ended = true;
      this.error = this.error ?? err;
      this.notify();
    };
    sock.on('end', () => end());
    sock.on('close', () => end());
    sock.on('error', (e) => end(e));
  }
  notify() {
    const w = this.wake;
    this.wake = null;
    if (w) w();
  }
  async read(n) {
    while (this.buf.length < n) {
      if (this.ended) {
        const how = this.error ? ` (${this.error.code ?? this.error.message})` : '';
        throw new PeerError(this.received === 0 ? 'not_noise' : 'peer-closed', `the connection ended${how} after ${this.received} bytes received`);
      }
      await new Promise((resolve) => (this.wake = resolve));
    }
    const out = this.buf.slice(0, n);
    this.buf = this.buf.slice(n);
    return out;
  }
  async readFrame() {
    const len = await this.read(2);
    return this.read((len[0] << 8) | len[1]);
  }
  write(bytes) {
    this.sock.write(bytes);
  }
  writeFrame(content) {
    if (content.length > 65535) throw new Error('Noise frame too long');
    this.write(concatBytes(Uint8Array.of(content.length >> 8, content.length & 0xff), content));
  }
}

/** Prologue: "qtc-p2p-noise/2" ‖ magic ‖ mode. */
export const prologue = (magic, mode) => concatBytes(utf8ToBytes('qtc-p2p-noise/2'), magic, Uint8Array.of(mode));

/** Handshake payload: version 02 | features u64 | rekey_after_messages u32 | rekey_after_bytes u64. */
export function encodeHandshakePayload({ features = 1n, rekeyMessages = 10_000, rekeyBytes = 1n << 30n }) {
  return new Writer().u8(TRANSPORT_VERSION).u64(features).u32(rekeyMessages).u64(rekeyBytes).done();
}

export function decodeHandshakePayload(payload) {
  if (payload.length < 21 || payload.length > 1024) throw new PeerError('malformed_message', `handshake payload of ${payload.length} bytes`);
  const r = new Reader(payload.subarray(0, 21));
  const p = { version: r.u8(), features: r.u64(), rekeyMessages: r.u32(), rekeyBytes: r.u64() };
  if (p.version !== TRANSPORT_VERSION) throw new PeerError('malformed_message', `transport version ${p.version}`);
  if (p.rekeyMessages < 1 || p.rekeyBytes < 1n) throw new PeerError('malformed_message', 'rekey limit 0');
  return p;
}

/** A refusal frame is exactly `ff <mode>` (2 bytes). Returns the mode it names, or null. */
function refusalMode(frame) {
  return frame.length === 2 && frame[0] === 0xff ? frame[1] : null;
}

function refusalError(sentMode, named) {
  const bytes = `0002ff${named.toString(16).padStart(2, '0')}`;
  if (named === sentMode) return new PeerError('downgrade_detected', `refusal ${bytes} names the mode we sent`, { refusal: bytes });
  const reason = sentMode === MODE_HYBRID ? 'peer_not_post_quantum' : 'peer_requires_post_quantum';
  return new PeerError(reason, `refused with ${bytes}`, { refusal: bytes });
}

/** Initiator: frames 1-3. Returns the established session keys and what the handshake revealed. */
export async function initiatorHandshake(stream, { magic, mode, staticPriv, payload, policyOff = false }) {
  const hs = new HandshakeState({ protocolName: PROTOCOL_NAMES[mode], initiator: true, prologue: prologue(magic, mode), s: staticPriv });
  const m1 = hs.writeMessage(concatBytes(magic, Uint8Array.of(TRANSPORT_VERSION))).message;
  stream.writeFrame(concatBytes(Uint8Array.of(mode), m1));
  const frame2 = await stream.readFrame();
  const named = refusalMode(frame2);
  if (named !== null) throw refusalError(mode, named);
  const remotePayload = decodeHandshakePayload(readOrFail(hs, frame2));
  if (!policyOff) checkDowngrade(mode, remotePayload);
  const { message, cipherStates } = hs.writeMessage(payload);
  stream.writeFrame(message);
  return established(hs, cipherStates, true, mode, remotePayload);
}

/** Responder: reads frame 1 (mode, size, clear magic and version), refuses a mode it does not speak. */
export async function responderHandshake(stream, { magic, accept, staticPriv, payload, policyOff = false }) {
  const frame1 = await stream.readFrame();
  const mode = frame1[0];
  if (mode !== MODE_HYBRID && mode !== MODE_CLASSICAL) throw new PeerError('malformed_message', `mode byte ${mode}`);
  if (!accept.includes(mode)) {
    stream.writeFrame(Uint8Array.of(0xff, accept[0]));
    throw new PeerError(mode === MODE_CLASSICAL ? 'peer_not_post_quantum' : 'peer_requires_post_quantum', `refused mode ${mode}`);
  }
  if (frame1.length !== FIRST_FRAME_LEN[mode]) throw new PeerError('malformed_message', `first frame of ${frame1.length} bytes`);
  const hs = new HandshakeState({ protocolName: PROTOCOL_NAMES[mode], initiator: false, prologue: prologue(magic, mode), s: staticPriv });
  const clear = readOrFail(hs, frame1.subarray(1));
  if (bytesToHex(clear) !== bytesToHex(concatBytes(magic, Uint8Array.of(TRANSPORT_VERSION)))) {
    throw new PeerError('wrong_network', `message 1 payload ${bytesToHex(clear)}`);
  }
  stream.writeFrame(hs.writeMessage(payload).message);
  const frame3 = await stream.readFrame();
  const remotePayload = decodeHandshakePayload(readOrFail(hs, frame3));
  if (!policyOff) checkDowngrade(mode, remotePayload);
  return established(hs, hs.cipherStates, false, mode, remotePayload);
}

function readOrFail(hs, message) {
  try {
    return hs.readMessage(message).payload;
  } catch (err) {
    const reason = /AEAD/.test(err.message) ? 'authentication_failed' : 'malformed_message';
    throw new PeerError(reason, err.message);
  }
}

/** A side whose policy is not `off` completed a classical handshake while the peer says it speaks
 *  the hybrid: a forged refusal. */
function checkDowngrade(mode, remotePayload) {
  if (mode === MODE_CLASSICAL && (remotePayload.features & 1n)) {
    throw new PeerError('downgrade_detected', 'classical handshake with a peer that speaks the hybrid');
  }
}

function established(hs, cipherStates, initiator, mode, remotePayload) {
  if (!cipherStates) throw new Error('handshake did not finish');
  const [c1, c2] = cipherStates;
  return {
    mode,
    initiator,
    handshakeHash: hs.handshakeHash,
    remoteStatic: hs.remoteStatic,
    localStatic: hs.s.pub,
    remotePayload,
    send: initiator ? c1 : c2,
    recv: initiator ? c2 : c1,
  };
}

/** Transport messages after Split(), rekeying each direction by its sender's announced limits. */
export class SecureChannel {
  constructor(stream, session, ourPayload) {
    this.stream = stream;
    this.out = { cs: session.send, limits: ourPayload, messages: 0, bytes: 0n, rekeys: 0 };
    this.in = { cs: session.recv, limits: session.remotePayload, messages: 0, bytes: 0n, rekeys: 0 };
  }
  static count(dir, ciphertextLen) {
    dir.messages += 1;
    dir.bytes += BigInt(ciphertextLen);
    if (dir.messages >= dir.limits.rekeyMessages || dir.bytes >= BigInt(dir.limits.rekeyBytes)) {
      dir.cs.rekey();
      dir.rekeys += 1;
      dir.messages = 0;
      dir.bytes = 0n;
    }
  }
  write(plain) {
    for (let off = 0; off < plain.length; off += MAX_PLAINTEXT) {
      const ct = this.out.cs.encryptWithAd(EMPTY, plain.subarray(off, off + MAX_PLAINTEXT));
      this.stream.writeFrame(ct);
      SecureChannel.count(this.out, ct.length);
    }
  }
  async read() {
    const ct = await this.stream.readFrame();
    let plain;
    try {
      plain = this.in.cs.decryptWithAd(EMPTY, ct);
    } catch (err) {
      throw new PeerError('authentication_failed', err.message);
    }
    SecureChannel.count(this.in, ct.length);
    return plain;
  }
}
