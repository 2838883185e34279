// Writes Noise test vectors (cacophony/snow JSON format plus the HFS KEM fields, see
// vector_runner.mjs) to stdout.
//
//   node gen_vectors.mjs                # all vectors
//   node gen_vectors.mjs --only-xxhfs   # only Noise_XXhfs_25519+MLKEM768_ChaChaPoly_{BLAKE2s,SHA256}
//
// Every key, seed and payload is derived from SHA-256 over a fixed label, so the output is
// byte-identical from run to run and machine to machine.

import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { DH_25519, parseProtocolName, keyNeeds, kemRoles } from './noise.mjs';
import { runVector, hex } from './vector_runner.mjs';

/** len bytes: SHA-256("qtc-noble-interop/v1/" + label + "/" + counter), counter = 0, 1, ... */
function det(label, len) {
  const blocks = [];
  for (let i = 0; blocks.length * 32 < len; i++) blocks.push(sha256(utf8ToBytes(`qtc-noble-interop/v1/${label}/${i}`)));
  return concatBytes(...blocks).slice(0, len);
}

/**
 * One vector. payloads: one entry per message (handshake messages first, then transport), each a
 * length (deterministic bytes) or a string (its UTF-8 bytes, for readable vectors).
 */
function makeVector(protocolName, index, prologue, payloads) {
  const { pattern, hfs } = parseProtocolName(protocolName);
  if (payloads.length < pattern.messages.length) throw new Error('fewer payloads than handshake messages');
  const id = `${protocolName}/${index}`;
  const needs = keyNeeds(pattern);
  const roles = hfs ? kemRoles(pattern) : { e1: -1, ekem1: -1 };
  const initStatic = needs.initS ? det(`${id}/init_static`, 32) : null;
  const respStatic = needs.respS ? det(`${id}/resp_static`, 32) : null;
  const pub = (priv) => hex(DH_25519.generateKeypair(priv).pub);
  // Field order as in cacophony, with the KEM fields next to the ephemeral key of each side.
  const v = { protocol_name: protocolName };
  const sideFields = (p, me, stat, remote) => {
    v[p + 'prologue'] = hex(prologue);
    if (stat) v[p + 'static'] = hex(stat);
    v[p + 'ephemeral'] = hex(det(`${id}/${p}ephemeral`, 32));
    if (roles.e1 === me) v[p + 'ephemeral_kem'] = hex(det(`${id}/${p}ephemeral_kem`, 64));
    if (roles.ekem1 === me) v[p + 'kem_encapsulation'] = hex(det(`${id}/${p}kem_encapsulation`, 32));
    if (remote) v[p + 'remote_static'] = pub(remote);
  };
  sideFields('init_', 0, initStatic, needs.initRs ? respStatic : null);
  sideFields('resp_', 1, respStatic, needs.respRs ? initStatic : null);
  v.messages = payloads.map((p, i) => ({
    payload: hex(typeof p === 'string' ? utf8ToBytes(p) : det(`${id}/payload/${i}`, p)),
  }));
  const out = runVector(v);
  v.handshake_hash = out.handshake_hash;
  v.messages = out.messages;
  // Put handshake_hash before messages, as cacophony does.
  const { messages, ...rest } = v;
  return { ...rest, messages };
}

const NAME = (pattern, hash, hfs = true) => `Noise_${pattern}_25519${hfs ? '+MLKEM768' : ''}_ChaChaPoly_${hash}`;

/** XXhfs: 4 vectors per hash, 3 handshake messages + 4 or more transport messages each. */
function xxhfsVectors() {
  const out = [];
  for (const hash of ['BLAKE2s', 'SHA256']) {
    const n = NAME('XXhfs', hash);
    out.push(makeVector(n, 0, new Uint8Array(0), [0, 0, 0, 0, 0, 0, 0])); // empty prologue, empty payloads
    out.push(makeVector(n, 1, utf8ToBytes('QuantumCoin Noise HFS'), [
      'Ludwig von Mises', 'Murray Rothbard', 'F. A. Hayek', 'Carl Menger', 'Jean-Baptiste Say', 'Eugen Böhm von Bawerk', '',
    ]));
    out.push(makeVector(n, 2, det(`${n}/2/prologue`, 32), [300, 0, 17, 300, 0, 1, 64]));
    out.push(makeVector(n, 3, det(`${n}/3/prologue`, 5), [0, 301, 300, 0, 299, 1000, 0, 2, 300]));
  }
  return out;
}

/** One vector of each other HFS pattern (BLAKE2s), and one classical XX. */
function otherVectors() {
  const out = [];
  for (const p of ['NN', 'NK', 'NX', 'XN', 'XK', 'KN', 'KX', 'IN', 'IK', 'IX']) {
    const n = NAME(`${p}hfs`, 'BLAKE2s');
    const hsCount = parseProtocolName(n).pattern.messages.length;
    const hs = hsCount === 2 ? [11, 300] : [11, 300, 0];
    out.push(makeVector(n, 0, utf8ToBytes(`prologue ${p}hfs`), [...hs, 0, 12, 300, 1]));
  }
  const xx = NAME('XX', 'BLAKE2s', false);
  out.push(makeVector(xx, 0, utf8ToBytes('QuantumCoin Noise'), [0, 16, 300, 0, 11, 1]));
  return out;
}

const onlyXX = process.argv.includes('--only-xxhfs');
const unknown = process.argv.slice(2).filter((a) => a !== '--only-xxhfs');
if (unknown.length) {
  console.error(`usage: node gen_vectors.mjs [--only-xxhfs]   (unknown: ${unknown.join(' ')})`);
  process.exit(2);
}
const vectors = onlyXX ? xxhfsVectors() : [...xxhfsVectors(), ...otherVectors()];
const doc = {
  source:
    'tests/interop/noble/gen_vectors.mjs: independent JavaScript Noise rev 34 + HFS rev 1 on @noble/curves, ' +
    '@noble/ciphers, @noble/hashes 2.4.0 and @noble/post-quantum 0.7.1 (ML-KEM-768, FIPS 203)',
  vectors,
};
process.stdout.write(JSON.stringify(doc, null, 2) + '\n');
