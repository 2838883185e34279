// Self-test of noise.mjs before its vectors are trusted to judge another implementation.
//
//   node selftest.mjs [more-cacophony-files.json ...]
//
// 1. primitives: noble's HMAC against a from-scratch RFC 2104 HMAC (BLAKE2s included), Noise's
//    HKDF against RFC 5869 HKDF, the ChaChaPoly nonce layout;
// 2. published classical vectors (tests/data/...cacophony.json, plus any files given) must be
//    reproduced byte for byte: every ciphertext and the handshake hash;
// 3. ML-KEM-768: sizes, round trip, implicit rejection, and Go's crypto/mlkem accumulated
//    known-answer test (100 iterations), which pins FIPS 203 final (not the draft or Kyber);
// 4. the HFS patterns derived by applyHfs() equal the table in the brief, KKhfs is refused;
// 5. the generated vectors are deterministic, and XXhfs message sizes are exactly
//    32 + 1184 + payload and 32 + (1088+16) + (32+16) + (payload+16); tampering is detected.
// Exits 1 if anything fails.

import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { hkdf as rfc5869 } from '@noble/hashes/hkdf.js';
import { shake128 } from '@noble/hashes/sha3.js';
import { concatBytes, randomBytes } from '@noble/hashes/utils.js';
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { HASHES, hmacHash, hkdf, CIPHER_CHACHAPOLY, KEM_MLKEM768, PATTERNS, applyHfs, parseProtocolName, HandshakeState } from './noise.mjs';
import { runVector, supports, hex } from './vector_runner.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const REPO_VECTORS = join(here, '../../data/noise_xx_25519_chachapoly_blake2s.cacophony.json');
let failures = 0;
function check(cond, what) {
  if (!cond) {
    failures++;
    console.log(`FAIL ${what}`);
  }
  return cond;
}
function section(name, fn) {
  const before = failures;
  try {
    fn();
  } catch (err) {
    failures++;
    console.log(`FAIL ${name}: ${err.stack}`);
  }
  console.log(`${failures === before ? 'ok  ' : 'FAIL'} ${name}`);
}
const eq = (a, b) => hex(a) === hex(b);

// --- 1. primitives ---------------------------------------------------------------------------
section('HMAC-HASH: noble hmac() == RFC 2104 from scratch, for BLAKE2s, SHA256, BLAKE2b, SHA512', () => {
  const rfc2104 = (H, key, data) => {
    let k = key.length > H.BLOCKLEN ? H.hash(key) : key;
    k = concatBytes(k, new Uint8Array(H.BLOCKLEN - k.length));
    const pad = (b) => k.map((x) => x ^ b);
    return H.hash(concatBytes(pad(0x5c), H.hash(concatBytes(pad(0x36), data))));
  };
  for (const H of Object.values(HASHES)) {
    for (const klen of [0, 1, 32, 64, 65, 128, 129]) {
      for (const dlen of [0, 1, 33, 200]) {
        const key = randomBytes(klen);
        const data = randomBytes(dlen);
        check(eq(hmacHash(H, key, data), rfc2104(H, key, data)), `HMAC ${H.name} klen=${klen} dlen=${dlen}`);
      }
    }
  }
});
section('HKDF (Noise 4.3) == RFC 5869 HKDF(salt=ck, info="", L=n*HASHLEN)', () => {
  for (const H of Object.values(HASHES)) {
    for (const ikmLen of [0, 32, 1088]) {
      const ck = randomBytes(H.HASHLEN);
      const ikm = randomBytes(ikmLen);
      for (const n of [2, 3]) {
        const ours = concatBytes(...hkdf(H, ck, ikm, n));
        check(eq(ours, rfc5869(H.fn, ikm, ck, new Uint8Array(0), n * H.HASHLEN)), `HKDF ${H.name} n=${n}`);
      }
    }
  }
});
section('ChaChaPoly nonce = 4 zero bytes || 64-bit little-endian counter', () => {
  check(hex(CIPHER_CHACHAPOLY.nonce(0n)) === '000000000000000000000000', 'nonce 0');
  check(hex(CIPHER_CHACHAPOLY.nonce(1n)) === '000000000100000000000000', 'nonce 1');
  check(hex(CIPHER_CHACHAPOLY.nonce(0x0102030405060708n)) === '000000000807060504030201', 'nonce big');
});

// --- 2. published classical vectors -------------------------------------------------------------
for (const file of [REPO_VECTORS, ...process.argv.slice(2)]) {
  section(`published vectors reproduce byte for byte: ${file}`, () => {
    const { vectors } = JSON.parse(readFileSync(file, 'utf8'));
    let used = 0;
    for (const v of vectors) {
      if (!supports(v)) continue;
      used++;
      const out = runVector(v);
      check(out.handshake_hash === v.handshake_hash, `${v.protocol_name}: handshake_hash`);
      v.messages.forEach((m, i) => check(out.messages[i].ciphertext === m.ciphertext, `${v.protocol_name}: message ${i}`));
    }
    console.log(`     ${used} supported of ${vectors.length}`);
    check(used > 0, `no supported vector in ${file}`);
  });
}

// --- 3. ML-KEM-768 -----------------------------------------------------------------------------
section('ML-KEM-768 sizes, round trip, determinism, implicit rejection', () => {
  const seed = randomBytes(64);
  const m = randomBytes(32);
  const kp = KEM_MLKEM768.generateKeypair(seed);
  check(kp.pub.length === 1184 && kp.priv.length === 2400, 'key sizes');
  check(eq(KEM_MLKEM768.generateKeypair(seed).pub, kp.pub), 'keygen(seed) deterministic');
  const { ciphertext, kemOutput } = KEM_MLKEM768.encapsulate(kp.pub, m);
  check(ciphertext.length === 1088 && kemOutput.length === 32, 'ciphertext/output sizes');
  check(eq(KEM_MLKEM768.encapsulate(kp.pub, m).ciphertext, ciphertext), 'encapsulate(pk, m) deterministic');
  check(eq(KEM_MLKEM768.decapsulate(kp, ciphertext), kemOutput), 'decapsulate == encapsulate output');
  const bad = Uint8Array.from(ciphertext);
  bad[100] ^= 1;
  check(!eq(KEM_MLKEM768.decapsulate(kp, bad), kemOutput), 'tampered ciphertext gives another output');
  const r = KEM_MLKEM768.generateKeypair();
  check(!eq(r.pub, kp.pub), 'random keygen');
});
section("ML-KEM-768 known answer: Go crypto/mlkem TestAccumulated, 100 iterations", () => {
  // Per iteration: seed(64)=d||z from stream s; absorb ek; m(32) from s; absorb ct, K; a random
  // 1088-byte ciphertext from s; absorb its (implicit-rejection) decapsulation. 32 bytes out.
  const s = shake128.create();
  const o = shake128.create();
  for (let i = 0; i < 100; i++) {
    const { publicKey, secretKey } = ml_kem768.keygen(s.xof(64));
    o.update(publicKey);
    const { cipherText, sharedSecret } = ml_kem768.encapsulate(publicKey, s.xof(32));
    o.update(cipherText).update(sharedSecret);
    check(eq(ml_kem768.decapsulate(cipherText, secretKey), sharedSecret), `KAT round trip ${i}`);
    o.update(ml_kem768.decapsulate(s.xof(1088), secretKey));
  }
  const got = hex(o.xof(32));
  check(got === '1114b1b6699ed191734fa339376afa7e285c9e6acf6ff0177d346696ce564415', `accumulated hash ${got}`);
});

// --- 4. HFS pattern derivation -------------------------------------------------------------------
section('hfs patterns derived from the rule equal the expected table; KKhfs refused', () => {
  const expected = {
    NN: ['e, e1', 'e, ee, ekem1'],
    NK: ['e, es, e1', 'e, ee, ekem1'],
    NX: ['e, e1', 'e, ee, ekem1, s, es'],
    XN: ['e, e1', 'e, ee, ekem1', 's, se'],
    XK: ['e, es, e1', 'e, ee, ekem1', 's, se'],
    XX: ['e, e1', 'e, ee, ekem1, s, es', 's, se'],
    KN: ['e, e1', 'e, ee, ekem1, se'],
    KX: ['e, e1', 'e, ee, ekem1, se, s, es'],
    IN: ['e, e1, s', 'e, ee, ekem1, se'],
    IK: ['e, es, e1, s, ss', 'e, ee, ekem1, se'],
    IX: ['e, e1, s', 'e, ee, ekem1, se, s, es'],
  };
  for (const [name, msgs] of Object.entries(expected)) {
    const got = applyHfs(PATTERNS[name], name).messages.map((m) => m.join(', '));
    check(JSON.stringify(got) === JSON.stringify(msgs), `${name}hfs: ${JSON.stringify(got)}`);
  }
  const throws = (f) => {
    try {
      f();
      return false;
    } catch {
      return true;
    }
  };
  check(throws(() => parseProtocolName('Noise_KKhfs_25519+MLKEM768_ChaChaPoly_BLAKE2s')), 'KKhfs refused');
  check(throws(() => parseProtocolName('Noise_XXhfs_25519_ChaChaPoly_BLAKE2s')), 'hfs without KEM refused');
  check(throws(() => parseProtocolName('Noise_XX_25519+MLKEM768_ChaChaPoly_BLAKE2s')), 'KEM without hfs refused');
  check(!throws(() => parseProtocolName('Noise_KK_25519_ChaChaPoly_SHA256')), 'classical KK accepted');
});

// --- 5. generated vectors ------------------------------------------------------------------------
section('gen_vectors.mjs: deterministic, self-consistent, XXhfs message sizes', () => {
  const gen = () => {
    const r = spawnSync(process.execPath, [join(here, 'gen_vectors.mjs')], { encoding: 'utf8', maxBuffer: 1 << 26 });
    if (r.status !== 0) throw new Error(`gen_vectors.mjs failed: ${r.stderr}`);
    return r.stdout;
  };
  const a = gen();
  check(a === gen(), 'two runs give identical output');
  const { vectors } = JSON.parse(a);
  let xx = 0;
  for (const v of vectors) {
    const out = runVector(v);
    check(out.handshake_hash === v.handshake_hash && out.messages.every((m, i) => m.ciphertext === v.messages[i].ciphertext), `${v.protocol_name} rerun`);
    if (!v.protocol_name.startsWith('Noise_XXhfs_')) continue;
    xx++;
    const len = (i) => v.messages[i].ciphertext.length / 2;
    const pay = (i) => v.messages[i].payload.length / 2;
    check(len(0) === 32 + 1184 + pay(0), `${v.protocol_name} message 1 size ${len(0)}`);
    check(len(1) === 32 + (1088 + 16) + (32 + 16) + (pay(1) + 16), `${v.protocol_name} message 2 size ${len(1)}`);
    check(len(2) === 32 + 16 + (pay(2) + 16), `${v.protocol_name} message 3 size ${len(2)}`);
    check(v.messages.length >= 7, `${v.protocol_name}: at least 4 transport messages`);
  }
  check(xx >= 8, `only ${xx} XXhfs vectors`);
});
section('XXhfs with fresh randomness: handshake completes; tampered e1 / ekem1 are detected', () => {
  const name = 'Noise_XXhfs_25519+MLKEM768_ChaChaPoly_SHA256';
  const run = (tamper) => {
    const init = new HandshakeState({ protocolName: name, initiator: true, s: randomBytes(32) });
    const resp = new HandshakeState({ protocolName: name, initiator: false, s: randomBytes(32) });
    const m1 = init.writeMessage(new Uint8Array(5)).message;
    if (tamper === 'e1') m1[32 + 500] ^= 1; // e1 travels in clear in XXhfs, but is hashed
    resp.readMessage(m1);
    const m2 = resp.writeMessage().message;
    if (tamper === 'ekem1') m2[32 + 700] ^= 1;
    init.readMessage(m2);
    const w3 = init.writeMessage(new Uint8Array(3));
    const r3 = resp.readMessage(w3.message);
    const ct = w3.cipherStates[0].encryptWithAd(new Uint8Array(0), new Uint8Array([7]));
    return eq(r3.cipherStates[0].decryptWithAd(new Uint8Array(0), ct), Uint8Array.of(7)) && eq(init.handshakeHash, resp.handshakeHash);
  };
  check(run(null), 'clean handshake');
  for (const t of ['e1', 'ekem1']) {
    let detected = false;
    try {
      run(t);
    } catch (err) {
      detected = /AEAD authentication failed/.test(err.message); // not some unrelated error
    }
    check(detected, `tampered ${t} detected by the AEAD`);
  }
});

console.log(failures ? `selftest: ${failures} FAILURE(S)` : 'selftest: all passed');
process.exit(failures ? 1 : 0);
