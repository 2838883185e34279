// Runs one test vector in the cacophony/snow JSON format through noise.mjs, playing BOTH sides:
// every message is written by its sender and read back by its receiver, so a vector we emit is
// at least self-consistent. Shared by gen_vectors.mjs (to fill in ciphertexts) and selftest.mjs
// (to compare against published ciphertexts).
//
// Format: message i is sent by the initiator when i is even and by the responder when i is odd,
// during the handshake and after it alike; after the handshake the initiator encrypts with c1 and
// the responder with c2 (Split() order), with empty associated data. HFS extension fields (hex):
// init_ephemeral_kem / resp_ephemeral_kem = 64-byte ML-KEM keygen seed d||z of the side sending
// "e1"; init_kem_encapsulation / resp_kem_encapsulation = 32-byte Encaps message m of the side
// sending "ekem1".

import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { HandshakeState, parseProtocolName, kemRoles } from './noise.mjs';

export const hex = bytesToHex;
const unhex = (h) => (h === undefined || h === null ? undefined : hexToBytes(h));
const eq = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

/** True if noise.mjs implements this protocol name (and the vector has no psk). */
export function supports(vector) {
  if (vector.init_psks?.length || vector.resp_psks?.length) return false;
  try {
    parseProtocolName(vector.protocol_name);
    return true;
  } catch {
    return false;
  }
}

/** Returns {handshake_hash, messages: [{payload, ciphertext}]} computed from the vector's keys,
 *  prologues and payloads (its own ciphertexts/handshake_hash are ignored). Throws if the two
 *  sides disagree or if randomness a side would need is missing (vectors must be deterministic). */
export function runVector(v) {
  const { pattern, hfs } = parseProtocolName(v.protocol_name);
  const need = (field) => {
    if (!v[field]) throw new Error(`${v.protocol_name}: vector lacks ${field}`);
    return v[field];
  };
  need('init_ephemeral');
  need('resp_ephemeral');
  const roles = hfs ? kemRoles(pattern) : { e1: -1, ekem1: -1 };
  const side = (isInit) => {
    const p = isInit ? 'init_' : 'resp_';
    const me = isInit ? 0 : 1;
    return new HandshakeState({
      protocolName: v.protocol_name,
      initiator: isInit,
      prologue: unhex(v[p + 'prologue']) ?? new Uint8Array(0),
      s: unhex(v[p + 'static']),
      rs: unhex(v[p + 'remote_static']),
      ephemeral: unhex(v[p + 'ephemeral']),
      kemSeed: roles.e1 === me ? unhex(need(p + 'ephemeral_kem')) : undefined,
      kemEncapsM: roles.ekem1 === me ? unhex(need(p + 'kem_encapsulation')) : undefined,
    });
  };
  const init = side(true);
  const resp = side(false);
  let transport = null; // [c1, c2], identical keys on both sides but separate nonce counters
  let peerTransport = null;
  let handshakeHash = null;
  const messages = [];
  v.messages.forEach((m, i) => {
    const payload = unhex(m.payload);
    const [sender, receiver] = i % 2 === 0 ? [init, resp] : [resp, init];
    let ciphertext;
    let received;
    if (!sender.isFinished) {
      const w = sender.writeMessage(payload);
      const r = receiver.readMessage(w.message);
      ciphertext = w.message;
      received = r.payload;
      if (w.cipherStates) {
        // Sender and receiver each own a pair; both orders are [c1, c2].
        if (!eq(sender.handshakeHash, receiver.handshakeHash)) throw new Error('handshake hashes differ');
        handshakeHash = sender.handshakeHash;
        [transport, peerTransport] = sender.initiator ? [w.cipherStates, r.cipherStates] : [r.cipherStates, w.cipherStates];
      }
    } else {
      const idx = i % 2; // initiator (even) uses c1, responder (odd) uses c2
      const [mine, theirs] = i % 2 === 0 ? [transport, peerTransport] : [peerTransport, transport];
      ciphertext = mine[idx].encryptWithAd(new Uint8Array(0), payload);
      received = theirs[idx].decryptWithAd(new Uint8Array(0), ciphertext);
    }
    if (!eq(received, payload)) throw new Error(`message ${i}: payload did not survive the round trip`);
    messages.push({ payload: hex(payload), ciphertext: hex(ciphertext) });
  });
  if (!handshakeHash) throw new Error(`${v.protocol_name}: vector ends before the handshake does`);
  return { handshake_hash: hex(handshakeHash), messages };
}
